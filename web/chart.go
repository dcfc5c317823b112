package web

import (
	"strconv"
	"time"
)

// chart is a bar chart of one value per day, drawn by the template from
// numbers only: nothing a buyer typed reaches it. The bars are an SVG that
// stretches to the page's width; the axes' labels are HTML placed by
// percentage, so their text keeps its size on a phone and on a wide screen.
type chart struct {
	Title      string
	From, To   string // the first and the last day, for the caption
	Width      int    // the SVG's units across; it is drawn at any width
	Height     int
	Bars       []bar
	Max        int    // the highest value
	Top        int    // the value axis' top: Max rounded up to a step
	Ticks      []tick // the day axis
	ValueTicks []tick // the value axis, from 0 to Top
}

type bar struct {
	X, Y, W, H float64
	Label      string // the day, for the tooltip
	Value      int
}

// tick is one label of an axis, at Pos percent of its length; a value
// tick's grid line is at Y in the SVG.
type tick struct {
	Pos  float64
	Y    float64
	Text string
}

const (
	chartWidth  = 600
	chartHeight = 140
)

// newChart lays out one bar per day, scaled to a value axis of at most five
// round steps (1, 2 or 5 times a power of ten).
func newChart(title string, days []time.Time, values []int) chart {
	c := chart{Title: title, Width: chartWidth, Height: chartHeight}
	for _, v := range values {
		c.Max = max(c.Max, v)
	}
	step := niceStep(c.Max)
	c.Top = max((c.Max+step-1)/step*step, step)
	for v := 0; v <= c.Top; v += step {
		share := float64(v) / float64(c.Top)
		c.ValueTicks = append(c.ValueTicks, tick{Pos: 100 * share, Y: chartHeight * (1 - share), Text: strconv.Itoa(v)})
	}
	if len(values) == 0 {
		return c
	}
	c.From, c.To = days[0].Format(time.DateOnly), days[len(days)-1].Format(time.DateOnly)
	slot := float64(chartWidth) / float64(len(values))
	for i, v := range values {
		h := float64(chartHeight) * float64(v) / float64(c.Top)
		c.Bars = append(c.Bars, bar{X: float64(i)*slot + 1, Y: float64(chartHeight) - h, W: max(slot-2, 1), H: h,
			Label: days[i].Format(time.DateOnly), Value: v})
	}
	// A label under the first day, every seventh not too near the end, and
	// the last: month and day, as the caption names the year.
	last := len(values) - 1
	for i := range values {
		if i == 0 || i == last || i%7 == 0 && last-i >= 4 {
			c.Ticks = append(c.Ticks, tick{Pos: 100 * (float64(i) + 0.5) / float64(len(values)), Text: days[i].Format("01-02")})
		}
	}
	return c
}

// niceStep is the step of a value axis up to max: the smallest of 1, 2, 5,
// 10, 20, 50… that needs at most four steps.
func niceStep(max int) int {
	for unit := 1; ; unit *= 10 {
		for _, m := range []int{1, 2, 5} {
			if step := m * unit; step*4 >= max {
				return step
			}
		}
	}
}
