package stripe

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
)

// maxMinor bounds amounts in a currency's smallest unit, so that converting to
// hundredths can never overflow; it is far above any real payment.
const maxMinor = 1_000_000_000_000_000

// minorDigits is the number of decimals Stripe counts a currency's amounts in
// (docs.stripe.com/currencies: zero-decimal and three-decimal currencies); cur
// is upper-case.
func minorDigits(cur string) int {
	switch cur {
	case "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "JOD", "KWD", "OMR", "TND":
		return 3
	}
	return 2
}

// fromMinor converts an amount in Stripe's smallest unit of cur to a
// vend.Amount.
func fromMinor(minor int64, cur string) (vend.Amount, error) {
	if minor < 0 || minor > maxMinor {
		return 0, fmt.Errorf("%d is out of range", minor)
	}
	switch minorDigits(cur) {
	case 0:
		return vend.Amount(minor * 100), nil
	case 3:
		if minor%10 != 0 {
			return 0, fmt.Errorf("%d %s has a third decimal other than 0", minor, cur)
		}
		return vend.Amount(minor / 10), nil
	}
	return vend.Amount(minor), nil
}

// toMinor converts a vend.Amount to Stripe's smallest unit of cur; it fails for
// fractions a zero-decimal currency cannot express.
func toMinor(a vend.Amount, cur string) (int64, error) {
	switch minorDigits(cur) {
	case 0:
		if a%100 != 0 {
			return 0, fmt.Errorf("%s %s has a fraction, but %s has no minor unit", a, cur, cur)
		}
		return int64(a / 100), nil
	case 3:
		return int64(a) * 10, nil
	}
	return int64(a), nil
}

// parseMajor parses a decimal amount in cur's major unit ("19.95" USD, "500"
// JPY, "5.120" KWD), as written in metadata[vend_products].
func parseMajor(s, cur string) (vend.Amount, error) {
	digits := minorDigits(cur)
	if whole, frac, ok := strings.Cut(s, "."); ok && digits == 3 && len(frac) == 3 {
		if frac[2] != '0' {
			return 0, fmt.Errorf("%q has a third decimal other than 0", s)
		}
		s = whole + "." + frac[:2]
	}
	a, err := vend.ParseAmount(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a decimal amount", s)
	case a < 0:
		return 0, fmt.Errorf("%q is negative", s)
	case digits == 0 && a%100 != 0:
		return 0, fmt.Errorf("%q has a fraction, but %s has no minor unit", s, cur)
	}
	return a, nil
}

// formatMajor writes a in cur's major unit, the inverse of parseMajor.
func formatMajor(a vend.Amount, cur string) string {
	switch minorDigits(cur) {
	case 0:
		return strconv.FormatInt(int64(a/100), 10)
	case 3:
		return a.String() + "0"
	}
	return a.String()
}
