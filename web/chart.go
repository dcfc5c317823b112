package web

import "time"

// chart is a bar chart drawn as inline SVG by the template from numbers only:
// nothing a buyer typed reaches it.
type chart struct {
	Title         string
	Width, Height int
	Bars          []bar
	Max           int
	Ticks         []tick
}

type bar struct {
	X, Y, W, H float64
	Label      string // the day, for the tooltip
	Value      int
}

type tick struct {
	X      float64
	Text   string
	Anchor string // start, middle or end: the outer labels stay inside the box
}

const (
	chartWidth  = 600
	chartHeight = 140
	chartBottom = 20 // room for the day labels
)

// newChart lays out one bar per day.
func newChart(title string, days []time.Time, values []int) chart {
	c := chart{Title: title, Width: chartWidth, Height: chartHeight + chartBottom}
	for _, v := range values {
		c.Max = max(c.Max, v)
	}
	if len(values) == 0 {
		return c
	}
	slot := float64(chartWidth) / float64(len(values))
	for i, v := range values {
		h := 0.0
		if c.Max > 0 {
			h = float64(chartHeight-4) * float64(v) / float64(c.Max)
		}
		c.Bars = append(c.Bars, bar{X: float64(i)*slot + 1, Y: float64(chartHeight) - h, W: max(slot-2, 1), H: h,
			Label: days[i].Format("2 Jan"), Value: v})
	}
	// A label on the first day, every seventh not too near the end, and the last.
	last := len(values) - 1
	for i := range values {
		switch {
		case i == 0:
			c.Ticks = append(c.Ticks, tick{X: 0, Text: days[i].Format("2 Jan"), Anchor: "start"})
		case i == last:
			c.Ticks = append(c.Ticks, tick{X: chartWidth, Text: days[i].Format("2 Jan"), Anchor: "end"})
		case i%7 == 0 && last-i >= 4:
			c.Ticks = append(c.Ticks, tick{X: float64(i)*slot + slot/2, Text: days[i].Format("2 Jan"), Anchor: "middle"})
		}
	}
	return c
}
