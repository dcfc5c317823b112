package blob_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/vend-shop/vend/blob"
)

func TestContentKey(t *testing.T) {
	sum := sha256.Sum256([]byte("hello"))
	key := blob.ContentKey(sum[:])
	if want := "2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"; key != want {
		t.Errorf("ContentKey = %s, want %s", key, want)
	}
	if !blob.ValidKey(key) {
		t.Errorf("ValidKey(%s) = false", key)
	}
}

func TestValidKey(t *testing.T) {
	good := "2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	for _, tt := range []struct {
		name, key string
	}{
		{"empty", ""},
		{"no directory", good[3:]},
		{"directory not the hash's start", "2d/" + good[3:]},
		{"upper case", strings.ToUpper(good)},
		{"a path", "../" + good[3:]},
		{"too long", good + "0"},
		{"not hex", good[:66] + "g"},
		{"a slash instead of a digit", good[:66] + "/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if blob.ValidKey(tt.key) {
				t.Errorf("ValidKey(%q) = true", tt.key)
			}
		})
	}
}

func FuzzValidKey(f *testing.F) {
	f.Add("2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
	f.Add("../../etc/passwd")
	f.Fuzz(func(t *testing.T, key string) {
		if !blob.ValidKey(key) {
			return
		}
		// A valid key is a relative path of two clean segments, nothing else.
		if strings.Count(key, "/") != 1 || strings.Contains(key, "..") || strings.ContainsAny(key, "\\\x00") {
			t.Errorf("ValidKey(%q) = true", key)
		}
	})
}
