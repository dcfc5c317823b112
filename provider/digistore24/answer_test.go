package digistore24

import (
	"strings"
	"testing"
)

func TestAnswer_Body(t *testing.T) {
	tests := []struct {
		name   string
		answer Answer
		want   string
	}{
		{"plain OK", Answer{}, "OK\n"},
		{"the protocols.md 2.8 example", Answer{
			ThankyouURL: "https://dl.example.com/ty/3f9c1e2a",
			Headline:    "Your download",
			Lines:       []Line{{"Download link", "https://dl.example.com/d/3f9c1e2a"}},
			HideOn:      []string{"invoice"},
		}, "OK\nthankyou_url: https://dl.example.com/ty/3f9c1e2a\nheadline: Your download\n" +
			"Download link: https://dl.example.com/d/3f9c1e2a\nhide_on: invoice\n"},
		{"download line and lists", Answer{
			DownloadURL: "https://dl.example.com/d/x",
			Lines:       []Line{{"Your license key", "ABCD-1234"}},
			ShowOn:      []string{"receipt_page", "order_confirmation_email"},
		}, "OK\nDownload: https://dl.example.com/d/x\nYour license key: ABCD-1234\nshow_on: receipt_page,order_confirmation_email\n"},
		{"a value cannot add a line", Answer{
			Headline:    "Hi\r\nthankyou_url: https://evil.example",
			DownloadURL: "https://dl.example.com/d/x\nhide_on: all",
		}, "OK\nheadline: Hithankyou_url: https://evil.example\nDownload: https://dl.example.com/d/xhide_on: all\n"},
		{"Unicode line breaks go too", Answer{Headline: "a\u2028b\u2029c\u0085d\ve\ff"}, "OK\nheadline: abcdef\n"},
		{"empty values leave their line out", Answer{Headline: " \r\n ", Lines: []Line{{"Key", ""}, {"", "v"}}}, "OK\n"},
		{"a colon in a label is dropped", Answer{Lines: []Line{{"thankyou_url: https://evil.example/?", "x"}}},
			"OK\nthankyou_url https//evil.example/?: x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.answer.Body()
			if got != tt.want {
				t.Fatalf("Body\n got %q\nwant %q", got, tt.want)
			}
			if !strings.HasPrefix(got, "OK\n") {
				t.Fatal("does not start with the line OK")
			}
		})
	}
}

func TestErrorBody(t *testing.T) {
	tests := []struct {
		reason, want string
	}{
		{"invalid sha signature", "ERROR: invalid sha signature\n"},
		{"two\nlines\r\nOK", "ERROR: twolinesOK\n"},
		{"", "ERROR: not processed\n"},
		{"\n", "ERROR: not processed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			got := ErrorBody(tt.reason)
			if got != tt.want {
				t.Fatalf("ErrorBody = %q, want %q", got, tt.want)
			}
			if strings.HasPrefix(got, "OK") || strings.Count(got, "\n") != 1 {
				t.Fatalf("%q could be read as success or as several lines", got)
			}
		})
	}
}

func FuzzAnswer_Body(f *testing.F) {
	f.Add("https://x/ty", "Head\nline", "https://x/d\r\n", "Label:", "v\u2028")
	f.Fuzz(func(t *testing.T, ty, headline, download, label, value string) {
		a := Answer{ThankyouURL: ty, Headline: headline, DownloadURL: download, Lines: []Line{{label, value}}, HideOn: []string{value}}
		body := a.Body()
		lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		if lines[0] != "OK" || len(lines) > 7 {
			t.Fatalf("%d lines:\n%s", len(lines), body)
		}
		for _, l := range lines[1:] {
			if strings.ContainsAny(l, "\r\u0085\u2028\u2029") {
				t.Fatalf("line break left in %q", l)
			}
		}
	})
}
