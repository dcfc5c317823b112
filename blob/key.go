package blob

import "encoding/hex"

// The key scheme every backend shares: "ab/ab…", the 64 lower-case hex digits of
// the content's SHA-256 under a directory (or prefix) named by its first two, so
// no directory holds more than a 256th of the files.

// ContentKey returns the key of content whose SHA-256 is sum.
func ContentKey(sum []byte) string {
	h := hex.EncodeToString(sum)
	return h[:2] + "/" + h
}

// ValidKey reports whether key is a content key. Backends refuse any other key
// before touching storage, so a key can never name a path of its choosing.
func ValidKey(key string) bool {
	if len(key) != 67 || key[2] != '/' || key[:2] != key[3:5] {
		return false
	}
	for i := 3; i < len(key); i++ {
		if c := key[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
