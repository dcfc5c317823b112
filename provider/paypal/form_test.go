package paypal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vend-shop/vend"
)

// readSample reads testdata/<name>, dropping one trailing newline an editor may
// have added: the samples are single-line bodies.
func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// mustParse parses a body that the test knows to be valid.
func mustParse(tb testing.TB, body []byte) *Form {
	tb.Helper()
	f, err := ParseForm(body)
	if err != nil {
		tb.Fatalf("ParseForm(%q): %v", body, err)
	}
	return f
}

func TestParseForm_Pitfalls(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Pair
	}{
		{
			name: "semicolon is a literal, not a separator",
			body: "custom=m:a;t:b&x=1&y=a+b%2Bc",
			want: []Pair{{"custom", "m:a;t:b"}, {"x", "1"}, {"y", "a b+c"}},
		},
		{
			name: "malformed percent escapes stay literal",
			body: "a=100%&b=%zz&c=%4&d=%%41&e=%4g&f=%",
			want: []Pair{{"a", "100%"}, {"b", "%zz"}, {"c", "%4"}, {"d", "%A"}, {"e", "%4g"}, {"f", "%"}},
		},
		{
			name: "duplicates are kept in input order",
			body: "a=1&b=2&a=3",
			want: []Pair{{"a", "1"}, {"b", "2"}, {"a", "3"}},
		},
		{
			name: "no charset field means windows-1252",
			body: "first_name=J%F6rg",
			want: []Pair{{"first_name", "Jörg"}},
		},
		{
			name: "windows-1252 bytes that differ from latin-1",
			body: "charset=windows-1252&price=%80+5&q=%93hi%94",
			want: []Pair{{"charset", "windows-1252"}, {"price", "€ 5"}, {"q", "“hi”"}},
		},
		{
			name: "iso-8859-1",
			body: "charset=iso-8859-1&last_name=M%FCller",
			want: []Pair{{"charset", "iso-8859-1"}, {"last_name", "Müller"}},
		},
		{
			name: "utf-8 in any letter case",
			body: "charset=UTF-8&first_name=J%C3%B6rg",
			want: []Pair{{"charset", "UTF-8"}, {"first_name", "Jörg"}},
		},
		{
			name: "charset after the fields it describes",
			body: "first_name=J%C3%B6rg&charset=utf-8",
			want: []Pair{{"first_name", "Jörg"}, {"charset", "utf-8"}},
		},
		{
			name: "last charset wins",
			body: "charset=utf-8&charset=windows-1252&x=%F6",
			want: []Pair{{"charset", "utf-8"}, {"charset", "windows-1252"}, {"x", "ö"}},
		},
		{
			name: "empty charset means the default",
			body: "charset=&x=%F6",
			want: []Pair{{"charset", ""}, {"x", "ö"}},
		},
		{
			name: "invalid utf-8 becomes the replacement character",
			body: "charset=utf-8&x=a%FFb",
			want: []Pair{{"charset", "utf-8"}, {"x", "a\uFFFDb"}},
		},
		{
			name: "a multi-byte charset from the WHATWG index",
			body: "charset=shift_jis&x=%82%A0",
			want: []Pair{{"charset", "shift_jis"}, {"x", "あ"}},
		},
		{
			name: "empty body",
			body: "",
			want: []Pair{},
		},
		{
			name: "equals signs inside values",
			body: "a=b=c&d==&e=x%3Dy",
			want: []Pair{{"a", "b=c"}, {"d", "="}, {"e", "x=y"}},
		},
		{
			name: "pair without equals has an empty value",
			body: "flag&x=1&y=",
			want: []Pair{{"flag", ""}, {"x", "1"}, {"y", ""}},
		},
		{
			name: "empty segments are skipped",
			body: "&a=1&&b=2&",
			want: []Pair{{"a", "1"}, {"b", "2"}},
		},
		{
			name: "empty key is kept",
			body: "=v",
			want: []Pair{{"", "v"}},
		},
		{
			name: "plus and %20 are both spaces, %2B is a plus",
			body: "a=x+y%20z%2B",
			want: []Pair{{"a", "x y z+"}},
		},
		{
			name: "escaped separators do not split",
			body: "a=x%26y%3Dz",
			want: []Pair{{"a", "x&y=z"}},
		},
		{
			name: "CRLF in an address is kept",
			body: "address_street=1+Main%0D%0ASuite+2",
			want: []Pair{{"address_street", "1 Main\r\nSuite 2"}},
		},
		{
			name: "keys are decoded too",
			body: "item%5Fname=x&n%E4me=1",
			want: []Pair{{"item_name", "x"}, {"näme", "1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseForm([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseForm: %v", err)
			}
			if len(f.Pairs) != len(tt.want) || len(tt.want) > 0 && !reflect.DeepEqual(f.Pairs, tt.want) {
				t.Errorf("pairs\n got %q\nwant %q", f.Pairs, tt.want)
			}
		})
	}
}

func TestParseForm_ErrCharset(t *testing.T) {
	for _, body := range []string{"charset=klingon&x=1", "charset=utf-7&x=1", "x=1&charset=%FF"} {
		t.Run(body, func(t *testing.T) {
			_, err := ParseForm([]byte(body))
			var rej *vend.RejectError
			if !errors.As(err, &rej) || !strings.Contains(rej.Reason, "not supported") {
				t.Fatalf("err = %v, want a *vend.RejectError about the charset", err)
			}
		})
	}
}

func TestForm_Get(t *testing.T) {
	f := mustParse(t, []byte("a=1&b=&a=2&c=3"))
	tests := []struct {
		key    string
		want   string
		wantOK bool
	}{
		{"a", "2", true}, // PHP: the last duplicate wins
		{"b", "", true},
		{"c", "3", true},
		{"missing", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := f.Get(tt.key); got != tt.want {
				t.Errorf("Get = %q, want %q", got, tt.want)
			}
			if got, ok := f.Lookup(tt.key); got != tt.want || ok != tt.wantOK {
				t.Errorf("Lookup = %q, %v, want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	t.Run("nil form", func(t *testing.T) {
		var nf *Form
		if v, ok := nf.Lookup("a"); v != "" || ok {
			t.Errorf("Lookup on nil = %q, %v", v, ok)
		}
	})
}

func TestForm_Encode(t *testing.T) {
	t.Run("samples encode back to their exact bytes", func(t *testing.T) {
		for _, name := range sampleNames(t) {
			body := readSample(t, name)
			got, err := mustParse(t, body).Encode()
			if err != nil {
				t.Fatalf("%s: Encode: %v", name, err)
			}
			if !bytes.Equal(got, body) {
				t.Errorf("%s:\n got %s\nwant %s", name, got, body)
			}
		}
	})

	tests := []struct {
		name  string
		pairs []Pair
		want  string
	}{
		{
			name:  "windows-1252 by default",
			pairs: []Pair{{"first_name", "Jörg"}, {"payment_date", "20:12:59 Jan 13, 2009 PST"}},
			want:  "first_name=J%F6rg&payment_date=20%3A12%3A59+Jan+13%2C+2009+PST",
		},
		{
			name:  "utf-8 when the form says so",
			pairs: []Pair{{"charset", "utf-8"}, {"first_name", "Jörg"}},
			want:  "charset=utf-8&first_name=J%C3%B6rg",
		},
		{
			name:  "unrepresentable characters become question marks",
			pairs: []Pair{{"name", "Zoë 李"}},
			want:  "name=Zo%EB+%3F",
		},
		{
			name:  "separators and reserved bytes are escaped",
			pairs: []Pair{{"a&b", "c=d;e+f%g"}, {"", ""}},
			want:  "a%26b=c%3Dd%3Be%2Bf%25g&=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Form{Pairs: tt.pairs}
			got, err := f.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Encode\n got %s\nwant %s", got, tt.want)
			}
		})
	}

	t.Run("ErrCharset", func(t *testing.T) {
		f := &Form{Pairs: []Pair{{"charset", "klingon"}}}
		if _, err := f.Encode(); err == nil {
			t.Fatal("Encode with an unknown charset succeeded")
		}
	})
}

func sampleNames(tb testing.TB) []string {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.ipn"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("no samples in testdata: %v", err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

func FuzzParseForm(f *testing.F) {
	for _, name := range sampleNames(f) {
		f.Add(readSample(f, name))
	}
	for _, s := range []string{
		"custom=m:a;t:b&x=1&y=a+b%2Bc", "a=%&b=%4&c=%zz", "charset=utf-8&x=%C3%B6",
		"charset=shift_jis&x=%82", "charset=utf-16le&x=%00%D8", "&&=&", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := ParseForm(body)
		if err != nil {
			var rej *vend.RejectError
			if !errors.As(err, &rej) || rej.Reason == "" {
				t.Fatalf("error is not a *vend.RejectError with a reason: %v", err)
			}
			return
		}
		if got, want := len(form.Pairs), countSegments(body); got != want {
			t.Fatalf("%d pairs from %d non-empty segments", got, want)
		}
		for _, p := range form.Pairs {
			if !utf8.ValidString(p.Key) || !utf8.ValidString(p.Value) {
				t.Fatalf("pair %q is not valid UTF-8", p)
			}
		}
		checkRoundTrip(t, form.Pairs)
	})
}

// checkRoundTrip asserts parse(encode(x)) == x for a form that says utf-8, which
// can represent every decoded pair.
func checkRoundTrip(t *testing.T, pairs []Pair) {
	t.Helper()
	in := append(append([]Pair{}, pairs...), Pair{"charset", "utf-8"})
	body, err := (&Form{Pairs: in}).Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	back, err := ParseForm(body)
	if err != nil {
		t.Fatalf("ParseForm(Encode(x)): %v", err)
	}
	if !reflect.DeepEqual(back.Pairs, in) {
		t.Fatalf("round trip\n got %q\nwant %q", back.Pairs, in)
	}
}

func countSegments(body []byte) int {
	n := 0
	for seg := range bytes.SplitSeq(body, []byte("&")) {
		if len(seg) > 0 {
			n++
		}
	}
	return n
}
