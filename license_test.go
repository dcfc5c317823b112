package vend

import (
	"strings"
	"testing"
	"time"
)

func TestNewLicenseKey(t *testing.T) {
	t.Parallel()
	seen := map[byte]int{}
	keys := map[string]bool{}
	for range 2000 {
		k, err := NewLicenseKey("")
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != len(DefaultKeyFormat) || keys[k] {
			t.Fatalf("key %q: wrong shape or repeated", k)
		}
		keys[k] = true
		for i := 0; i < len(k); i++ {
			if DefaultKeyFormat[i] == 'X' {
				seen[k[i]]++
			} else if k[i] != DefaultKeyFormat[i] {
				t.Fatalf("key %q does not keep the format's %q at %d", k, DefaultKeyFormat[i], i)
			}
		}
	}
	// 40000 characters over 29: each about 1380 times; none missing, none
	// outside the alphabet, none far off (a biased draw would show here).
	for i := 0; i < len(KeyAlphabet); i++ {
		if n := seen[KeyAlphabet[i]]; n < 1000 || n > 1800 {
			t.Errorf("%q drawn %d times of 40000, want about 1380", KeyAlphabet[i], n)
		}
		delete(seen, KeyAlphabet[i])
	}
	if len(seen) != 0 {
		t.Errorf("characters outside the alphabet: %v", seen)
	}
	k, err := NewLicenseKey("APP-XXXXXXXX-XXXXXXXX")
	if err != nil || !strings.HasPrefix(k, "APP-") || len(k) != 21 {
		t.Errorf("a format with a prefix: %q %v", k, err)
	}
	for _, bad := range []string{"XXXX-XXXX", "XXXXXXXX XXXXXXXX", strings.Repeat("X", 65), "ÄXXXXXXXXXXXXXXXXX"} {
		if _, err := NewLicenseKey(bad); ErrorCode(err) != EINVALID {
			t.Errorf("format %q: %v, want EINVALID", bad, err)
		}
	}
}

func TestNormalizeKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"  abcde-fghjk \n", "ABCDE-FGHJK", true},
		{"38b1460a-5104-4067-a91d-77b872934d51", "38B1460A-5104-4067-A91D-77B872934D51", true},
		{"", "", false},
		{"   ", "", false},
		{"AB CD", "", false},
		{"AB\x00CD", "", false},
		{"AB\u0085CD", "", false},
		{"\xff\xfe", "", false},
		{strings.Repeat("A", MaxKeyLength+1), "", false},
	} {
		got, ok := NormalizeKey(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeKey(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if KeyHash("ABC") == KeyHash("ABD") || len(KeyHash("ABC")) != 64 {
		t.Error("KeyHash is no SHA-256 in hex")
	}
}

func TestLicense_Status(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	active := &Grant{State: GrantActive}
	for _, tt := range []struct {
		name string
		l    License
		g    *Grant
		want LicenseStatus
	}{
		{"new", License{}, active, LicenseInactive},
		{"activated", License{Activations: 1}, active, LicenseActive},
		{"expired", License{Activations: 1, ExpiresAt: now}, active, LicenseExpired},
		{"not yet expired", License{ExpiresAt: now.Add(time.Second)}, active, LicenseInactive},
		{"disabled by an administrator", License{Disabled: true}, active, LicenseDisabled},
		{"its grant revoked (refund)", License{Activations: 1}, &Grant{State: GrantRevoked, Reason: "refunded"}, LicenseDisabled},
		{"no grant", License{}, nil, LicenseDisabled},
		{"disabled wins over expired", License{Disabled: true, ExpiresAt: now}, active, LicenseDisabled},
	} {
		if got := tt.l.Status(tt.g, now); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func FuzzNormalizeKey(f *testing.F) {
	for _, s := range []string{"ABCDE-FGHJK", " abc ", "", "\x00", "ä-ß", strings.Repeat("k", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := NormalizeKey(s)
		if !ok {
			if got != "" {
				t.Errorf("refused %q but returned %q", s, got)
			}
			return
		}
		again, ok2 := NormalizeKey(got)
		if !ok2 || again != got {
			t.Errorf("NormalizeKey is not idempotent on %q: %q → %q", s, got, again)
		}
		if strings.ContainsAny(got, " \t\r\n\x00") || got == "" {
			t.Errorf("NormalizeKey(%q) = %q keeps what a key cannot hold", s, got)
		}
	})
}

func FuzzNewLicenseKey(f *testing.F) {
	for _, s := range []string{"", DefaultKeyFormat, "APP-XXXXXXXXXXXXXXXX", "XXXX", "X X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, format string) {
		k, err := NewLicenseKey(format)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Errorf("format %q: %v, want EINVALID", format, err)
			}
			return
		}
		if format == "" {
			format = DefaultKeyFormat
		}
		if len(k) != len(format) {
			t.Fatalf("format %q made %q", format, k)
		}
		for i := 0; i < len(k); i++ {
			if format[i] == 'X' && !strings.ContainsRune(KeyAlphabet, rune(k[i])) || format[i] != 'X' && k[i] != format[i] {
				t.Fatalf("format %q made %q", format, k)
			}
		}
		if _, ok := NormalizeKey(k); !ok {
			t.Errorf("a generated key %q does not normalize", k)
		}
	})
}

func TestParseKeyList(t *testing.T) {
	t.Parallel()
	keys, err := ParseKeyList(strings.NewReader("\ufeff# from the other shop\r\nAAAA-1111\r\n\r\n  bbbb-2222  \naaaa-1111\n#CCCC\n"))
	if err != nil || strings.Join(keys, ",") != "AAAA-1111,bbbb-2222" {
		t.Errorf("keys %q, %v", keys, err)
	}
	if _, err := ParseKeyList(strings.NewReader("GOOD\nBAD KEY\n")); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "line 2") {
		t.Errorf("a line with a space: %v", err)
	}
	if _, err := ParseKeyList(strings.NewReader(strings.Repeat("x", 70<<10))); ErrorCode(err) != EINVALID {
		t.Errorf("a 70 KiB line: %v", err)
	}
}

func FuzzParseKeyList(f *testing.F) {
	f.Add("AAAA-1111\nbbbb-2222\n")
	f.Add("\ufeff# comment\r\n\r\nKEY\n")
	f.Add("KEY 1\n")
	f.Add("\x00\n")
	f.Fuzz(func(t *testing.T, list string) {
		keys, err := ParseKeyList(strings.NewReader(list))
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Errorf("refused with %v, want EINVALID", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, k := range keys {
			norm, ok := NormalizeKey(k)
			if !ok || seen[norm] || strings.HasPrefix(k, "#") {
				t.Errorf("kept %q (normalizes: %v, repeated: %v)", k, ok, seen[norm])
			}
			seen[norm] = true
		}
	})
}
