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
	if c.Max != 10 || len(c.Bars) != 4 {
		t.Fatalf("chart %+v", c)
	}
	if c.Bars[0].H != 0 || c.Bars[2].H != chartHeight-4 || c.Bars[1].H != (chartHeight-4)/2.0 {
		t.Errorf("heights %v %v %v", c.Bars[0].H, c.Bars[1].H, c.Bars[2].H)
	}
	for i, b := range c.Bars {
		if b.Y+b.H != chartHeight || b.X < 0 || b.X+b.W > chartWidth {
			t.Errorf("bar %d out of the box: %+v", i, b)
		}
	}
	if c.Bars[3].Label != "4 Nov" || len(c.Ticks) != 2 || c.Ticks[0].Anchor != "start" || c.Ticks[1].Anchor != "end" || c.Ticks[1].X != chartWidth {
		t.Errorf("labels %q, ticks %+v", c.Bars[3].Label, c.Ticks)
	}
	month := make([]time.Time, 30)
	for i := range month {
		month[i] = day.AddDate(0, 0, i)
	}
	// Ticks on day 0, 7, 14, 21 and 29; not on 28, too near the last one.
	if got := newChart("Month", month, make([]int, 30)).Ticks; len(got) != 5 || got[3].Text != "22 Nov" || got[4].Text != "30 Nov" {
		t.Errorf("month ticks %+v", got)
	}
	if empty := newChart("Nothing", days, []int{0, 0, 0, 0}); empty.Max != 0 || empty.Bars[1].H != 0 {
		t.Errorf("an empty chart: %+v", empty)
	}
}
