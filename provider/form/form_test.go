package form

import (
	"bytes"
	"fmt"
	"testing"
)

// pairs builds the expected result from key, value strings.
func pairs(kv ...string) []Pair {
	out := make([]Pair, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, Pair{Key: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return out
}

func equal(a, b []Pair) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func show(ps []Pair) string {
	var b bytes.Buffer
	for _, p := range ps {
		fmt.Fprintf(&b, "[%q=%q]", p.Key, p.Value)
	}
	return b.String()
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Pair
	}{
		{"semicolon is a literal, not a separator", "custom=m:a;t:b&x=1&y=a+b%2Bc",
			pairs("custom", "m:a;t:b", "x", "1", "y", "a b+c")},
		{"malformed percent escapes stay literal", "a=100%&b=%zz&c=%4&d=%%41&e=%4g&f=%",
			pairs("a", "100%", "b", "%zz", "c", "%4", "d", "%A", "e", "%4g", "f", "%")},
		{"duplicates are kept in input order", "a=1&b=2&a=3", pairs("a", "1", "b", "2", "a", "3")},
		{"empty segments are skipped", "&a=1&&b=2&", pairs("a", "1", "b", "2")},
		{"a pair without '=' has an empty value", "flag&x=1&y=", pairs("flag", "", "x", "1", "y", "")},
		{"empty key is kept", "=v", pairs("", "v")},
		{"cut at the first '=' only", "a=b=c&d==&e=x%3Dy", pairs("a", "b=c", "d", "=", "e", "x=y")},
		{"plus and %20 are spaces, %2B is a plus", "a=x+y%20z%2B", pairs("a", "x y z+")},
		{"escaped separators do not split", "a=x%26y%3Dz", pairs("a", "x&y=z")},
		{"keys are decoded too", "item%5Fname=x&a+b=1", pairs("item_name", "x", "a b", "1")},
		{"lower- and upper-case hex", "a=%c3%B6", pairs("a", "ö")},
		{"bytes are not interpreted as any charset", "a=%FF%00&b=\xfe", pairs("a", "\xff\x00", "b", "\xfe")},
		{"CRLF in a value is kept", "s=1+Main%0D%0ASuite+2", pairs("s", "1 Main\r\nSuite 2")},
		{"empty body", "", nil},
		{"only separators", "&&&", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Split([]byte(tt.body)); !equal(got, tt.want) {
				t.Errorf("Split(%q)\n got %s\nwant %s", tt.body, show(got), show(tt.want))
			}
		})
	}
}

func TestSplit_DoesNotAliasBody(t *testing.T) {
	body := []byte("abc=def")
	got := Split(body)
	copy(body, "XXXXXXX")
	if string(got[0].Key) != "abc" || string(got[0].Value) != "def" {
		t.Fatalf("pairs changed with the body: %s", show(got))
	}
}

func TestAppendEscaped(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"AZaz09-_.~", "AZaz09-_.~"},
		{"a b", "a+b"},
		{"a+b&c=d;e%f", "a%2Bb%26c%3Dd%3Be%25f"},
		{"kunde@example.de", "kunde%40example.de"},
		{`E-Book "Go"`, "E-Book+%22Go%22"},
		{"Jörg", "J%C3%B6rg"},
		{"\x00\xff\r\n", "%00%FF%0D%0A"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := string(AppendEscaped([]byte("p="), []byte(tt.in))); got != "p="+tt.want {
				t.Errorf("AppendEscaped(%q) = %q, want %q", tt.in, got, "p="+tt.want)
			}
		})
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"custom=m:a;t:b&x=1&y=a+b%2Bc", "a=%&b=%4&c=%zz", "&&=&", "", "a", "=",
		"event=on_payment&api_mode=test&custom=m%3A42%3Bk%3Aebook&license_key=",
		"first_name=J%F6rg&charset=windows-1252", "%%%41%4", "a=1&a=2",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := Split(body)
		segments := 0
		for seg := range bytes.SplitSeq(body, []byte("&")) {
			if len(seg) > 0 {
				segments++
			}
		}
		if len(got) != segments {
			t.Fatalf("%d pairs from %d non-empty segments", len(got), segments)
		}
		if back := Split(encode(got)); !equal(back, got) {
			t.Fatalf("Split(encode(x)) != x\n got %s\nwant %s", show(back), show(got))
		}
	})
}

// encode writes pairs back as a body. An empty pair would vanish as an empty
// segment, so it is written as "=", which Split reads as the same pair.
func encode(ps []Pair) []byte {
	var b []byte
	for i, p := range ps {
		if i > 0 {
			b = append(b, '&')
		}
		b = AppendEscaped(b, p.Key)
		b = append(b, '=')
		b = AppendEscaped(b, p.Value)
	}
	return b
}
