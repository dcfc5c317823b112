package locale_test

import (
	"testing"
	"time"

	"github.com/vend-shop/vend/locale"
)

func TestAccept(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{
		"": "en", "de": "de", "de-AT,en;q=0.8": "de", "DE_de": "de", "de;q=0.9,en": "de",
		"en-US,de;q=0.9": "en", "fr": "en", "deu": "en",
	} {
		if got := locale.Accept(header); got != want {
			t.Errorf("Accept(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestLocale(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, time.March, 2, 14, 5, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		lang, date, datetime, size, money string
	}{
		{"en", "March 2, 2026", "March 2, 2026, 13:05 UTC", "4.7 MB", "1,234.50 EUR"},
		{"de", "2. März 2026", "2. März 2026, 13:05 UTC", "4,7 MB", "1.234,50 EUR"},
	}
	for _, tt := range tests {
		l := locale.New(tt.lang)
		if got := l.Date(day); got != tt.date {
			t.Errorf("%s: Date = %q, want %q", tt.lang, got, tt.date)
		}
		if got := l.DateTime(day); got != tt.datetime {
			t.Errorf("%s: DateTime = %q, want %q", tt.lang, got, tt.datetime)
		}
		if got := l.Size(4_718_592); got != tt.size {
			t.Errorf("%s: Size = %q, want %q", tt.lang, got, tt.size)
		}
		if got := l.Money(123450, "EUR"); got != tt.money {
			t.Errorf("%s: Money = %q, want %q", tt.lang, got, tt.money)
		}
	}
}
