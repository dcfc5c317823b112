package sqldb

import (
	"reflect"
	"strings"
	"testing"
)

func TestHeaders(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string][]string
		stored  string // the column text; "" checks only the roundtrip
	}{
		{"UTF-8 headers stay a plain, readable JSON object", map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, `{"Content-Type":["application/x-www-form-urlencoded"]}`},
		{"no headers", nil, `null`},
		{"empty set", map[string][]string{}, `{}`},
		{"a non-UTF-8 value switches the whole set to base64", map[string][]string{"X": {"J\xf6rg"}}, `["base64",{"WA==":["SvZyZw=="]}]`},
		{"a NUL switches to base64", map[string][]string{"X": {"a\x00"}}, `["base64",{"WA==":["YQA="]}]`},
		{"a non-UTF-8 key", map[string][]string{"\xff": {"v", ""}}, ""},
		{"an empty value list", map[string][]string{"\xff": {}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := encodeHeaders(tt.headers)
			if err != nil {
				t.Fatal(err)
			}
			if tt.stored != "" && s != tt.stored {
				t.Errorf("stored %s, want %s", s, tt.stored)
			}
			got, err := decodeHeaders(s)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.headers) && (len(got) != 0 || len(tt.headers) != 0) {
				t.Errorf("read back %q, want %q", got, tt.headers)
			}
		})
	}
}

func TestDecodeHeaders_Refused(t *testing.T) {
	for _, s := range []string{`["gzip",{}]`, `["base64"]`, `["base64",{"!!":["x"]}]`, `["base64",{"WA==":["!!"]}]`, `[`, `{"a":1}`} {
		if h, err := decodeHeaders(s); err == nil {
			t.Errorf("decodeHeaders(%s) = %q, want an error", s, h)
		}
	}
}

// FuzzHeaders checks that any header set reads back exactly as written.
func FuzzHeaders(f *testing.F) {
	f.Add("Content-Type", "application/x-www-form-urlencoded", "X", "J\xf6rg")
	f.Add("\xff", "", "", "\x00")
	f.Add("[", `"]`, "base64", "WA==")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		h := map[string][]string{k1: {v1, v2}, k2: {v2}}
		s, err := encodeHeaders(h)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsRune(s, 0) {
			t.Fatalf("stored text %q holds a NUL", s)
		}
		got, err := decodeHeaders(s)
		if err != nil {
			t.Fatalf("decode %s: %v", s, err)
		}
		if !reflect.DeepEqual(got, h) {
			t.Fatalf("read back %q, want %q (stored %s)", got, h, s)
		}
	})
}
