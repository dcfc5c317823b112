package web

import (
	"testing"
	"time"
)

func TestNewChart(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	days := []time.Time{day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 2), day.AddDate(0, 0, 3)}
	c := newChart("Sales", days, []int{0, 5, 10, 2})
	if c.Max != 10 || c.Top != 10 || len(c.Bars) != 4 {
		t.Fatalf("chart %+v", c)
	}
	if c.Bars[0].H != 0 || c.Bars[2].H != chartHeight || c.Bars[1].H != chartHeight/2.0 {
		t.Errorf("heights %v %v %v", c.Bars[0].H, c.Bars[1].H, c.Bars[2].H)
	}
	for i, b := range c.Bars {
		if b.Y+b.H != chartHeight || b.X < 0 || b.X+b.W > chartWidth {
			t.Errorf("bar %d out of the box: %+v", i, b)
		}
	}
	if c.Bars[3].Label != "2026-11-04" || c.From != "2026-11-01" || c.To != "2026-11-04" ||
		len(c.Ticks) != 2 || c.Ticks[0].Text != "11-01" || c.Ticks[1].Text != "11-04" {
		t.Errorf("labels %q %s–%s, ticks %+v", c.Bars[3].Label, c.From, c.To, c.Ticks)
	}
	if got := c.ValueTicks; len(got) != 3 || got[0].Text != "0" || got[1].Text != "5" || got[2].Text != "10" || got[2].Pos != 100 {
		t.Errorf("value axis %+v", got)
	}
	month := make([]time.Time, 30)
	for i := range month {
		month[i] = day.AddDate(0, 0, i)
	}
	// Ticks on day 0, 7, 14, 21 and 29; not on 28, too near the last one.
	if got := newChart("Month", month, make([]int, 30)).Ticks; len(got) != 5 || got[3].Text != "11-22" || got[4].Text != "11-30" {
		t.Errorf("month ticks %+v", got)
	}
	if empty := newChart("Nothing", days, []int{0, 0, 0, 0}); empty.Max != 0 || empty.Top != 1 || empty.Bars[1].H != 0 {
		t.Errorf("an empty chart: %+v", empty)
	}
	// The value axis' top is a round number above the highest bar.
	for _, tt := range []struct{ max, top, steps int }{{0, 1, 1}, {3, 3, 3}, {7, 8, 4}, {13, 15, 3}, {38, 40, 4}, {101, 150, 3}} {
		c := newChart("", days[:1], []int{tt.max})
		if c.Top != tt.top || len(c.ValueTicks) != tt.steps+1 {
			t.Errorf("max %d: top %d with %d ticks, want %d with %d", tt.max, c.Top, len(c.ValueTicks), tt.top, tt.steps+1)
		}
	}
}
