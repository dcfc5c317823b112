package blob_test

import (
	"mime"
	"regexp"
	"testing"

	"github.com/vend-shop/vend/blob"
)

func TestAttachment(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		want      string // the whole header, if given
		wantName  string // the name a client that reads filename* saves under
		wantASCII string // the name a client that reads only filename saves under
	}{
		{
			name:      "an ASCII name is quoted as it is",
			file:      "report 2024.pdf",
			want:      `attachment; filename="report 2024.pdf"`,
			wantName:  "report 2024.pdf",
			wantASCII: "report 2024.pdf",
		},
		{
			name:      "a non-ASCII name gets an ASCII fallback and filename*",
			file:      "Müller – Buch.pdf",
			want:      `attachment; filename="M_ller _ Buch.pdf"; filename*=UTF-8''M%C3%BCller%20%E2%80%93%20Buch.pdf`,
			wantName:  "Müller – Buch.pdf",
			wantASCII: "M_ller _ Buch.pdf",
		},
		{
			name:      "quotes and percent signs never break the quoted fallback",
			file:      `say "hi" 100%.pdf`,
			wantName:  `say "hi" 100%.pdf`,
			wantASCII: "say _hi_ 100_.pdf",
		},
		{
			name:      "characters RFC 5987 allows only percent-encoded are encoded in filename*",
			file:      "Bericht: Über@Home = 1+1 (neu); [v2], {x}.pdf",
			wantName:  "Bericht: Über@Home = 1+1 (neu); [v2], {x}.pdf",
			wantASCII: "Bericht: _ber@Home = 1+1 (neu); [v2], {x}.pdf",
		},
		{
			name:      "control characters are replaced in both forms",
			file:      "a\r\nX-Evil: 1\x7f.pdf",
			wantName:  "a__X-Evil: 1_.pdf",
			wantASCII: "a__X-Evil: 1_.pdf",
		},
		{
			name:      "a path keeps only its last element",
			file:      `dir/sub\name.pdf`,
			wantName:  "name.pdf",
			wantASCII: "name.pdf",
		},
		{
			name:      "emoji and CJK survive in filename*",
			file:      "日本語 🎵.mp3",
			wantName:  "日本語 🎵.mp3",
			wantASCII: "___ _.mp3",
		},
	}
	fallback := regexp.MustCompile(`filename="([^"]*)"`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := blob.Attachment(tt.file)
			if tt.want != "" && got != tt.want {
				t.Errorf("Attachment(%q) = %s, want %s", tt.file, got, tt.want)
			}
			for _, c := range got {
				if c < 0x20 || c >= 0x7f {
					t.Fatalf("Attachment(%q) = %q: not printable ASCII", tt.file, got)
				}
			}
			// mime.ParseMediaType prefers filename* (RFC 2231), as browsers do.
			typ, params, err := mime.ParseMediaType(got)
			if err != nil || typ != "attachment" {
				t.Fatalf("Attachment(%q) = %s does not parse: %v", tt.file, got, err)
			}
			if params["filename"] != tt.wantName {
				t.Errorf("Attachment(%q) = %s saves as %q, want %q", tt.file, got, params["filename"], tt.wantName)
			}
			if m := fallback.FindStringSubmatch(got); m == nil || m[1] != tt.wantASCII {
				t.Errorf("Attachment(%q) = %s: ASCII fallback is not %q", tt.file, got, tt.wantASCII)
			}
		})
	}
}
