package vend

import (
	"fmt"
	"strconv"
	"strings"
)

// Amount is money in hundredths of the currency's unit ("19.95" is 1995). Payment
// providers send decimal strings with at most two decimals; parsing them into an
// integer keeps every comparison exact.
type Amount int64

// ParseAmount parses a decimal string such as "19.95", "-19.95", "5" or "5.5".
func ParseAmount(s string) (Amount, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 2 || hasDot && frac == "" || !allDigits(whole) || !allDigits(frac) || len(whole) > 15 {
		return 0, fmt.Errorf("invalid amount %q", orig)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	var w int64
	if whole != "" {
		var err error
		if w, err = strconv.ParseInt(whole, 10, 64); err != nil {
			return 0, fmt.Errorf("invalid amount %q", orig)
		}
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	a := Amount(w*100 + f)
	if neg {
		a = -a
	}
	return a, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats the amount with two decimals, e.g. "19.95" or "-0.50".
func (a Amount) String() string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	return fmt.Sprintf("%s%d.%02d", sign, int64(a)/100, int64(a)%100)
}

// Abs returns the absolute value.
func (a Amount) Abs() Amount {
	if a < 0 {
		return -a
	}
	return a
}
