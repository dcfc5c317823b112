package vend

import (
	"strings"
	"testing"
)

func TestHashPassword(t *testing.T) {
	const pw = "correct horse battery staple"
	hash, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=1,p=2$") {
			t.Errorf("hash %q is not argon2id with the documented parameters", hash)
		}
		if !CheckPassword(hash, pw) {
			t.Error("the password does not match its own hash")
		}
		if PasswordNeedsRehash(hash) {
			t.Error("a fresh hash needs a rehash")
		}
	})
	t.Run("a fresh salt each time", func(t *testing.T) {
		again, err := HashPassword(pw)
		if err != nil {
			t.Fatal(err)
		}
		if again == hash {
			t.Error("two hashes of one password are equal: no random salt")
		}
		if !CheckPassword(again, pw) {
			t.Error("the second hash does not match")
		}
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		for _, wrong := range []string{"", "correct horse battery stapl", "correct horse battery staple ", "Correct horse battery staple"} {
			if CheckPassword(hash, wrong) {
				t.Errorf("%q matches the hash of %q", wrong, pw)
			}
		}
	})
	t.Run("ErrMalformedHash", func(t *testing.T) {
		bad := []string{
			"",
			"plain text",
			strings.Replace(hash, "argon2id", "argon2i", 1),
			strings.Replace(hash, "v=19", "v=16", 1),
			strings.Replace(hash, "m=65536", "m=065536", 1),
			strings.Replace(hash, "m=65536", "m=4294967295", 1), // would allocate 4 TiB
			strings.Replace(hash, "t=1", "t=0", 1),
			strings.Replace(hash, "p=2", "p=0", 1),
			strings.Replace(hash, "m=65536,t=1,p=2", "t=1,m=65536,p=2", 1),
			hash + "=",
			hash + "$",
			hash[:len(hash)-10],
		}
		for _, h := range bad {
			if CheckPassword(h, pw) {
				t.Errorf("malformed hash %q matches", h)
			}
			if !PasswordNeedsRehash(h) {
				t.Errorf("malformed hash %q needs no rehash", h)
			}
		}
	})
	t.Run("older parameters still check and ask for a rehash", func(t *testing.T) {
		p, err := parsePasswordHash(hash)
		if err != nil {
			t.Fatal(err)
		}
		old := argonParams{Memory: 19 * 1024, Time: 2, Threads: 1, Salt: p.Salt}
		old.Key = idKey(pw, old, 32)
		h := old.String()
		if !CheckPassword(h, pw) || CheckPassword(h, "wrong password") {
			t.Errorf("hash with OWASP's minimum parameters does not check: %s", h)
		}
		if !PasswordNeedsRehash(h) {
			t.Error("an older hash needs no rehash")
		}
	})
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"ten characters", "0123456789", true},
		{"nine characters", "012345678", false},
		{"empty", "", false},
		{"ten characters, not ten bytes", "äöüäöüäöüä", true},
		{"nine characters of many bytes", "äöüäöüäöü", false},
		{"at the maximum", strings.Repeat("x", MaxPasswordLength), true},
		{"over the maximum", strings.Repeat("x", MaxPasswordLength+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePassword(tt.pw)
			if (err == nil) != tt.ok {
				t.Errorf("ValidatePassword = %v, want ok %v", err, tt.ok)
			}
			if err != nil && ErrorCode(err) != EINVALID {
				t.Errorf("code %s, want %s", ErrorCode(err), EINVALID)
			}
		})
	}
}

// FuzzParsePasswordHash checks the PHC parser: it never panics, what it accepts
// is within the bounds (so a stored hash cannot make a login allocate without
// limit), and formats back to exactly the string it read.
func FuzzParsePasswordHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw")
	f.Add("$argon2i$v=19$m=65536,t=1,p=2$c2FsdA$a2V5")
	f.Add("$argon2id$v=19$m=65536,t=1,p=2$c2Fs\ndHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePasswordHash(s)
		if err != nil {
			return
		}
		if p.Memory > maxArgonMemory || p.Time < 1 || p.Time > maxArgonTime || p.Threads < 1 || p.Threads > maxArgonThreads ||
			p.Memory < 8*uint32(p.Threads) || len(p.Salt) < 8 || len(p.Key) < 16 {
			t.Fatalf("accepted out-of-bounds parameters %+v from %q", p, s)
		}
		if got := p.String(); got != s {
			t.Fatalf("parse(%q) formats as %q", s, got)
		}
	})
}
