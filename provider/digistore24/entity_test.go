package digistore24

import (
	"html"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHTMLDecode checks PHP's own results: each want is what PHP 8.2 printed for
// html_entity_decode(in, ENT_QUOTES|ENT_SUBSTITUTE|ENT_HTML401, "UTF-8").
func TestHTMLDecode(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Tom &amp; Jerry", "Tom & Jerry"},
		{"O&#039;Neil", "O'Neil"},
		{"O&apos;Neil", "O&apos;Neil"},
		{"x &copy 2024 &amp y", "x &copy 2024 &amp y"},
		{"&euro;5", "\u20AC5"},
		{"&lt;b&gt;", "<b>"},
		{"&#x0x41;", "A"},
		{"&#x0X41;", "A"},
		{"&#x0x;", "&#x0x;"},
		{"&#X41;", "A"},
		{"&#0039;", "'"},
		{"&#0;", "&#0;"},
		{"&#128;", "&#128;"},
		{"&#x80;", "&#x80;"},
		{"&#x9F;", "&#x9F;"},
		{"&#127;", "&#127;"},
		{"&#9;&#10;&#13;", "\x09\x0a\x0d"},
		{"&#11;", "&#11;"},
		{"&#xC;", "&#xC;"},
		{"&#x1F;", "&#x1F;"},
		{"&#xD800;", "&#xD800;"},
		{"&#xdfff;", "&#xdfff;"},
		{"&#xFFFE;", "\uFFFE"},
		{"&#xFDD0;", "\uFDD0"},
		{"&#x10FFFF;", "\U0010FFFF"},
		{"&#x110000;", "&#x110000;"},
		{"&#1114112;", "&#1114112;"},
		{"&#99999999999999999999;", "&#99999999999999999999;"},
		{"&#x10000000000000041;", "&#x10000000000000041;"},
		{"&#18446744073709551681;", "&#18446744073709551681;"},
		{"&#00000000000000000000065;", "A"},
		{"&AMP;", "&AMP;"},
		{"&amp", "&amp"},
		{"&&amp;", "&&"},
		{"&#;", "&#;"},
		{"&#x;", "&#x;"},
		{"&;", "&;"},
		{"&#-5;", "&#-5;"},
		{"&#+5;", "&#+5;"},
		{"&# 5;", "&# 5;"},
		{"&#x 5;", "&#x 5;"},
		{"&ampx;", "&ampx;"},
		{"&amp;amp;", "&amp;"},
		{"&#65", "&#65"},
		{"&hellip;", "\u2026"},
		{"&lang;&rang;", "\u2329\u232A"},
		{"&nbsp;", "\u00A0"},
		{"&quot;&#34;&#x27;", "\"\"'"},
		{"&zwnj;", "\u200C"},
		{"&ETH;&eth;", "\u00D0\u00F0"},
		{"&#x0x0x41;", "&#x0x0x41;"},
		{"&#0x41;", "&#0x41;"},
		{"&#xA0;", "\u00A0"},
		{"a&lt", "a&lt"},
		{"&lt;", "<"},
		{"&lt", "&lt"},
		{"\xff&amp;\xfe", "\xff&\xfe"},
		{"&#x;;", "&#x;;"},
		{"&#38;lt;", "&lt;"},
		{"&sup3;&frac34;&Omega;&thetasym;&piv;&upsih;", "\u00B3\u00BE\u03A9\u03D1\u03D6\u03D2"},
		{"J&ouml;rg M&uuml;ller", "J\u00F6rg M\u00FCller"},
		{"&#x1F600;", "\U0001F600"},
		{"&#128512;", "\U0001F600"},
		{"&eacute&eacute;", "&eacute\u00E9"},
		{"&#xe000;", "\uE000"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := htmlDecode(tt.in); got != tt.want {
				t.Errorf("htmlDecode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestHTMLDecode_NotGo pins the cases of protocols.md 2.4 where Go's
// html.UnescapeString disagrees with PHP, so nobody swaps it in.
func TestHTMLDecode_NotGo(t *testing.T) {
	tests := []struct {
		in, php, goHTML string
	}{
		{"O&apos;Neil", "O&apos;Neil", "O'Neil"},
		{"x &copy 2024 &amp y", "x &copy 2024 &amp y", "x \u00A9 2024 & y"},
		{"&AMP;", "&AMP;", "&"},
		{"&#128;", "&#128;", "\u20AC"},
		{"&#0;", "&#0;", "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := htmlDecode(tt.in); got != tt.php {
				t.Errorf("htmlDecode = %q, want PHP's %q", got, tt.php)
			}
			if got := html.UnescapeString(tt.in); got != tt.goHTML {
				t.Errorf("html.UnescapeString = %q, want %q (the difference this test documents)", got, tt.goHTML)
			}
		})
	}
}

func TestHTMLDecode_Table(t *testing.T) {
	if len(html401) != 252 {
		t.Fatalf("%d entities, HTML 4.01 has 252", len(html401))
	}
	for name, r := range html401 {
		if got := htmlDecode("&" + name + ";"); got != string(r) {
			t.Errorf("&%s; = %q, want %q", name, got, string(r))
		}
		// HTML5 keeps every HTML 4.01 name, mostly with the same code point.
		if name != "lang" && name != "rang" && html.UnescapeString("&"+name+";") != string(r) {
			t.Errorf("&%s; = %U here but %q in HTML5", name, r, html.UnescapeString("&"+name+";"))
		}
	}
}

func FuzzHTMLDecode(f *testing.F) {
	for _, s := range []string{
		"Tom &amp; Jerry", "O&#039;Neil", "&#x0x41;", "&#99999999999999999999;", "&&amp;",
		"&eacute&eacute;", "\xff&amp;\xfe", "&#x10FFFF;&#xD800;", "&lang;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := htmlDecode(s)
		if !strings.Contains(s, "&") && got != s {
			t.Fatalf("no '&' but changed: %q -> %q", s, got)
		}
		// Every reference is at least as long as the UTF-8 it stands for.
		if len(got) > len(s) {
			t.Fatalf("decoding grew %q to %q", s, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("valid UTF-8 %q decoded to invalid %q", s, got)
		}
		if strings.Count(got, "&") > strings.Count(s, "&") {
			t.Fatalf("more '&' after decoding %q: %q", s, got)
		}
	})
}
