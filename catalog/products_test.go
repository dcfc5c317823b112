package catalog_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
)

// product returns a product with the defaults of an empty optional field, changed by fn.
func product(id, name string, fn func(p *vend.Product)) vend.Product {
	p := vend.Product{
		ID:            id,
		Name:          name,
		Currency:      vend.DefaultCurrency,
		DownloadLimit: vend.DefaultDownloadLimit,
		Lifetime:      vend.Forever,
	}
	if fn != nil {
		fn(&p)
	}
	return p
}

func TestParseProducts(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []catalog.Line
	}{
		{
			name:  "three fields give the defaults: free, USD, 5 downloads, forever",
			input: "ebook|An e-book|ebook.pdf\n",
			want:  []catalog.Line{{No: 1, Product: product("ebook", "An e-book", nil), File: "ebook.pdf"}},
		},
		{
			name:  "all seven fields are read",
			input: "ebook|An e-book|ebook.pdf|19.95|EUR|3|30d\n",
			want: []catalog.Line{{No: 1, File: "ebook.pdf", Product: product("ebook", "An e-book", func(p *vend.Product) {
				p.Price, p.Currency, p.DownloadLimit, p.Lifetime = 1995, "EUR", 3, 30*24*time.Hour
			})}},
		},
		{
			name:  "empty optional fields take the defaults",
			input: "ebook|An e-book|ebook.pdf|||| \n",
			want:  []catalog.Line{{No: 1, Product: product("ebook", "An e-book", nil), File: "ebook.pdf"}},
		},
		{
			name:  "fields are trimmed",
			input: "  ebook  |  An e-book \t|  dir/ebook.pdf  |  5  |  GBP  \n",
			want: []catalog.Line{{No: 1, File: "dir/ebook.pdf", Product: product("ebook", "An e-book", func(p *vend.Product) {
				p.Price, p.Currency = 500, "GBP"
			})}},
		},
		{
			name:  "lower-case currency is upper-cased",
			input: "a|A|a.zip|1|eur\n",
			want:  []catalog.Line{{No: 1, File: "a.zip", Product: product("a", "A", func(p *vend.Product) { p.Price, p.Currency = 100, "EUR" })}},
		},
		{
			name:  "unlimited downloads and unlimited lifetime are words",
			input: "a|A|a.zip|||unlimited|unlimited\n",
			want: []catalog.Line{{No: 1, File: "a.zip", Product: product("a", "A", func(p *vend.Product) {
				p.DownloadLimit, p.Lifetime = vend.Unlimited, vend.Forever
			})}},
		},
		{
			name:  "lifetime may be a Go duration",
			input: "a|A|a.zip||||12h30m\n",
			want: []catalog.Line{{No: 1, File: "a.zip", Product: product("a", "A", func(p *vend.Product) {
				p.Lifetime = 12*time.Hour + 30*time.Minute
			})}},
		},
		{
			name:  "a price of zero is allowed",
			input: "a|A|a.zip|0.00\n",
			want:  []catalog.Line{{No: 1, File: "a.zip", Product: product("a", "A", nil)}},
		},
		{
			name:  "comments, indented comments and blank lines are skipped but counted",
			input: "# products\n\n   # indented comment\n \t \na|A|a.zip\n",
			want:  []catalog.Line{{No: 5, File: "a.zip", Product: product("a", "A", nil)}},
		},
		{
			name:  "CRLF line ends and a byte order mark are accepted",
			input: "\uFEFFa|A|a.zip\r\nb|B|b.zip|2\r\n",
			want: []catalog.Line{
				{No: 1, File: "a.zip", Product: product("a", "A", nil)},
				{No: 2, File: "b.zip", Product: product("b", "B", func(p *vend.Product) { p.Price = 200 })},
			},
		},
		{
			name:  "the last line needs no line end",
			input: "a|A|a.zip",
			want:  []catalog.Line{{No: 1, File: "a.zip", Product: product("a", "A", nil)}},
		},
		{
			name:  "names and paths may be UTF-8 with spaces",
			input: "a|Grüße aus Köln 日本|Files/Grüße 1.zip\n",
			want:  []catalog.Line{{No: 1, File: "Files/Grüße 1.zip", Product: product("a", "Grüße aus Köln 日本", nil)}},
		},
		{
			name:  "file paths are kept as written, absolute or relative",
			input: "a|A|/srv/a.zip\nb|B|../b.zip\n",
			want: []catalog.Line{
				{No: 1, File: "/srv/a.zip", Product: product("a", "A", nil)},
				{No: 2, File: "../b.zip", Product: product("b", "B", nil)},
			},
		},
		{
			name:  "an empty file has no products",
			input: "",
			want:  nil,
		},
		{
			name:  "ids differing only in case are different products",
			input: "a|A|a.zip\nA|A|a.zip\n",
			want: []catalog.Line{
				{No: 1, File: "a.zip", Product: product("a", "A", nil)},
				{No: 2, File: "a.zip", Product: product("A", "A", nil)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := catalog.ParseProducts(strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("ParseProducts: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseProducts:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseProducts_Errors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string // the error's lines, in order
	}{
		{"fewer than three fields", "a|A\n",
			[]string{`line 1: want 3 to 7 fields separated by '|' (id|name|file[|price|currency|download_limit|lifetime]), got 2`}},
		{"more than seven fields", "a|A|a.zip|1|USD|5|30d|x\n",
			[]string{`line 1: want 3 to 7 fields separated by '|' (id|name|file[|price|currency|download_limit|lifetime]), got 8`}},
		{"empty id", " |A|a.zip\n", []string{`line 1: product id is empty`}},
		{"id with a space", "my book|A|a.zip\n",
			[]string{`line 1: product id "my book": use 1-64 letters, digits, '.', '_' or '-'`}},
		{"empty name", "a| |a.zip\n", []string{`line 1: name is empty`}},
		{"empty file", "a|A|\n", []string{`line 1: file is empty`}},
		{"name with a control character", "a|A\x00B|a.zip\n", []string{`line 1: name "A\x00B" contains a control character`}},
		{"price that is not a number", "a|A|a.zip|cheap\n", []string{`line 1: price "cheap": use a decimal number such as 19.95`}},
		{"price with three decimals", "a|A|a.zip|1.999\n", []string{`line 1: price "1.999": use a decimal number such as 19.95`}},
		{"negative price", "a|A|a.zip|-1\n", []string{`line 1: price "-1" must not be negative`}},
		{"negative zero price", "a|A|a.zip|-0.00\n", []string{`line 1: price "-0.00" must not be negative`}},
		{"currency that is not three letters", "a|A|a.zip|1|dollar\n",
			[]string{`line 1: currency "dollar" is not a three-letter ISO 4217 code such as USD`}},
		{"currency with non-ASCII letters", "a|A|a.zip|1|usı\n",
			[]string{`line 1: currency "usı" is not a three-letter ISO 4217 code such as USD`}},
		{"download limit of zero", "a|A|a.zip|1|USD|0\n",
			[]string{`line 1: download limit "0" must be positive (or "unlimited")`}},
		{"download limit that is not a number", "a|A|a.zip|1|USD|many\n",
			[]string{`line 1: download limit "many": use a positive number or "unlimited"`}},
		{"lifetime of zero days", "a|A|a.zip|1|USD|5|0d\n",
			[]string{`line 1: lifetime "0d" must be positive (or "unlimited")`}},
		{"lifetime in months", "a|A|a.zip|1|USD|5|1mo\n",
			[]string{`line 1: lifetime "1mo": use "unlimited", days such as "30d" or a duration such as "12h"`}},
		{"invalid UTF-8", "a|A|a.zip\nb|B\xff|b.zip\n", []string{`line 2: not valid UTF-8`}},
		{"same id twice names both lines", "a|A|a.zip\n# c\nb|B|b.zip\na|Again|c.zip\n",
			[]string{`line 4: product id "a" is already used on line 1`}},
		{"every problem of a line is reported", "a|A|a.zip|x|xx|0|0d\n", []string{
			`line 1: price "x": use a decimal number such as 19.95`,
			`line 1: currency "xx" is not a three-letter ISO 4217 code such as USD`,
			`line 1: download limit "0" must be positive (or "unlimited")`,
			`line 1: lifetime "0d" must be positive (or "unlimited")`,
		}},
		{"every bad line is reported, good lines are not", "a|A|a.zip\nb|B\nc|C|c.zip\nd|D|d.zip|1|USD|0\n", []string{
			`line 2: want 3 to 7 fields separated by '|' (id|name|file[|price|currency|download_limit|lifetime]), got 2`,
			`line 4: download limit "0" must be positive (or "unlimited")`,
		}},
		{"a comment marker inside a line is not a comment", "a|A|a.zip|#1\n",
			[]string{`line 1: price "#1": use a decimal number such as 19.95`}},
		{"file name with a control character", "a|A|dir/a\x1b[31m.zip\n",
			[]string{`line 1: file "dir/a\x1b[31m.zip" contains a control character`}},
		{"file name that is a parent directory", "a|A|dir/..\n",
			[]string{`line 1: file name ".." is not a name: give one like book.pdf`}},
		{"file name longer than 255 bytes", "a|A|dir/" + strings.Repeat("x", 256) + "\n",
			[]string{`line 1: file name of 256 bytes is too long: at most 255 bytes`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := catalog.ParseProducts(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("ParseProducts succeeded with %+v", got)
			}
			if got != nil {
				t.Errorf("ParseProducts returned %d lines with an error, want none", len(got))
			}
			if lines := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(lines, tt.want) {
				t.Errorf("error:\n got %q\nwant %q", lines, tt.want)
			}
		})
	}
}

func TestParseProducts_TooManyErrors(t *testing.T) {
	var input strings.Builder
	for i := range 50 {
		fmt.Fprintf(&input, "p%d|Product|p.zip|1|USD|0\n", i)
	}
	_, err := catalog.ParseProducts(strings.NewReader(input.String()))
	if err == nil {
		t.Fatal("ParseProducts succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != catalog.MaxErrors+1 {
		t.Fatalf("got %d error lines, want %d:\n%v", len(lines), catalog.MaxErrors+1, err)
	}
	if got, want := lines[len(lines)-1], "line 21: too many errors; stopped reading after 20"; got != want {
		t.Errorf("last line = %q, want %q", got, want)
	}
}

func TestParseProducts_ErrorKinds(t *testing.T) {
	_, err := catalog.ParseProducts(strings.NewReader("a|A|a.zip|1|USD|0\nb|B\n"))
	if code := vend.ErrorCode(err); code != vend.EINVALID {
		t.Errorf("ErrorCode = %q, want %q", code, vend.EINVALID)
	}
	if msg, want := vend.ErrorMessage(err), `line 1: download limit "0" must be positive (or "unlimited")`; msg != want {
		t.Errorf("ErrorMessage = %q, want %q", msg, want)
	}
	var le *catalog.LineError
	if !errors.As(err, &le) || le.No != 1 {
		t.Errorf("errors.As LineError = %+v, want line 1", le)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseProducts_ReadError(t *testing.T) {
	_, err := catalog.ParseProducts(failingReader{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("err = %v, want the read error", err)
	}
}

func TestParseProducts_Testdata(t *testing.T) {
	tests := []struct {
		file      string
		wantLines int
		wantErrs  int
	}{
		{"example.products", 4, 0},
		{"crlf-bom.products", 2, 0},
		{"errors.products", 0, 9},
		{"invalid-utf8.products", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			lines, err := catalog.ParseProducts(bytes.NewReader(data))
			if len(lines) != tt.wantLines {
				t.Errorf("got %d lines, want %d", len(lines), tt.wantLines)
			}
			gotErrs := 0
			if err != nil {
				gotErrs = strings.Count(err.Error(), "\n") + 1
			}
			if gotErrs != tt.wantErrs {
				t.Errorf("got %d errors, want %d:\n%v", gotErrs, tt.wantErrs, err)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		lines := []catalog.Line{
			{No: 1, File: "a.zip", Product: product("a", "A", nil)},
			{No: 2, File: "dir/b c.zip", Product: product("b", "Bee Gees", func(p *vend.Product) {
				p.Price, p.Currency, p.DownloadLimit, p.Lifetime = 1995, "EUR", vend.Unlimited, 36*time.Hour
			})},
			{No: 3, File: "c.zip", Product: product("c", "C", func(p *vend.Product) { p.Lifetime = 100000 * 24 * time.Hour })},
		}
		out, err := catalog.Format(lines)
		if err != nil {
			t.Fatal(err)
		}
		want := "# id|name|file[|price|currency|download_limit|lifetime]\n" +
			"a|A|a.zip|0.00|USD|5|unlimited\n" +
			"b|Bee Gees|dir/b c.zip|19.95|EUR|unlimited|36h0m0s\n" +
			"c|C|c.zip|0.00|USD|5|2400000h0m0s\n"
		if string(out) != want {
			t.Errorf("Format:\n got %q\nwant %q", out, want)
		}
		back, err := catalog.ParseProducts(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		for i := range lines {
			lines[i].No = i + 2
		}
		if !reflect.DeepEqual(back, lines) {
			t.Errorf("parsed back:\n got %+v\nwant %+v", back, lines)
		}
	})
	for _, tt := range []struct {
		name string
		line catalog.Line
	}{
		{"ErrPipeInName", catalog.Line{File: "a.zip", Product: product("a", "A|B", nil)}},
		{"ErrNewlineInFile", catalog.Line{File: "a\n.zip", Product: product("a", "A", nil)}},
		{"ErrSurroundingSpace", catalog.Line{File: "a.zip", Product: product("a", " A", nil)}},
		{"ErrInvalidProduct", catalog.Line{File: "a.zip", Product: product("a", "A", func(p *vend.Product) { p.Currency = "usd" })}},
		{"ErrPriceTooLarge", catalog.Line{File: "a.zip", Product: product("a", "A", func(p *vend.Product) { p.Price = 1 << 62 })}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if out, err := catalog.Format([]catalog.Line{tt.line}); err == nil {
				t.Errorf("Format succeeded: %q", out)
			}
		})
	}
}

// FuzzParseProducts checks that ParseProducts never panics, that every line it
// returns holds a valid product, and that Format writes lines it reads back the same.
func FuzzParseProducts(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.products"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files in testdata: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a|A|a.zip||||100000d\n"))
	f.Add([]byte("a|A|a.zip|+1.5|usd|999999999|1ns\r\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := catalog.ParseProducts(bytes.NewReader(data))
		if err != nil {
			if lines != nil {
				t.Fatalf("returned %d lines with error %v", len(lines), err)
			}
			return
		}
		for _, l := range lines {
			if err := l.Product.Validate(); err != nil {
				t.Fatalf("line %d: invalid product %+v: %v", l.No, l.Product, err)
			}
			if l.File == "" {
				t.Fatalf("line %d: empty file", l.No)
			}
			if err := catalog.ValidateFileName(path.Base(strings.ReplaceAll(l.File, `\`, "/"))); err != nil {
				t.Fatalf("line %d: file %q: %v", l.No, l.File, err)
			}
		}
		out, err := catalog.Format(lines)
		if err != nil {
			t.Fatalf("Format of parsed lines: %v", err)
		}
		back, err := catalog.ParseProducts(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("parse of formatted lines: %v\n%s", err, out)
		}
		if len(back) != len(lines) {
			t.Fatalf("parsed back %d lines, want %d", len(back), len(lines))
		}
		for i := range lines {
			if !reflect.DeepEqual(back[i].Product, lines[i].Product) || back[i].File != lines[i].File {
				t.Fatalf("line %d changed:\n got %+v %q\nwant %+v %q", lines[i].No, back[i].Product, back[i].File, lines[i].Product, lines[i].File)
			}
		}
	})
}
