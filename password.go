package vend

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Passwords of administrators are kept as argon2id hashes in the PHC string
// format, $argon2id$v=19$m=65536,t=1,p=2$<salt>$<hash> (standard base64 without
// padding), so the parameters can be raised later without losing the users
// who have an older hash: each hash says how it was made.
//
// The parameters: 64 MiB of memory, one pass, two lanes. That is above OWASP's
// minimum for argon2id (19 MiB, two passes) and spends its cost on memory, which
// is what makes guessing on GPUs expensive, rather than on passes. It takes about
// 25 ms on the two cores of a small server (measured, ecosystem.md §3f), so a
// login stays quick; RFC 9106's second setting (t=3, p=4) costs three times as
// much for the same memory. Logins sit behind rate limits and a cap on hashes in
// flight (web), since each one holds 64 MiB while it runs.
const (
	argonTime    = 1
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds on the parameters a stored hash may ask for: a damaged or planted hash
// must not make a login allocate gigabytes or run for minutes.
const (
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonTime    = 32
	maxArgonThreads = 64
)

// MinPasswordLength and MaxPasswordLength bound an administrator's password, in
// characters and bytes. Length is what makes a password hard to guess; vend asks
// for nothing else (no digits-and-symbols rules).
const (
	MinPasswordLength = 10
	MaxPasswordLength = 1024
)

// ValidatePassword reports, as an EINVALID error, a password that is too short
// or too long to be set.
func ValidatePassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength {
		return Errorf(EINVALID, "A password needs at least %d characters (this one has %d).", MinPasswordLength, n)
	}
	if len(pw) > MaxPasswordLength {
		return Errorf(EINVALID, "A password may have at most %d bytes.", MaxPasswordLength)
	}
	return nil
}

// ValidateUserName reports, as an EINVALID error, an administrator's name that
// cannot be used: it takes 1 to 64 letters, digits and the characters . _ - @,
// so that it reads the same in the audit trail, logs and the terminal.
func ValidateUserName(name string) error {
	if name == "" || len(name) > 64 {
		return Errorf(EINVALID, "A user name needs 1 to 64 characters.")
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@", r) {
			return Errorf(EINVALID, "A user name may have letters, digits and . _ - @, nothing else (no spaces).")
		}
	}
	return nil
}

// argonParams are the parameters and the salt and key of one hash.
type argonParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	Salt    []byte
	Key     []byte
}

// HashPassword returns an argon2id hash of pw with a fresh random salt, in the
// PHC string format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	p := argonParams{Memory: argonMemory, Time: argonTime, Threads: argonThreads, Salt: salt}
	p.Key = idKey(pw, p, argonKeyLen)
	return p.String(), nil
}

// idKey derives an n-byte key from pw with p's parameters and salt.
func idKey(pw string, p argonParams, n int) []byte {
	return argon2.IDKey([]byte(pw), p.Salt, p.Time, p.Memory, p.Threads, uint32(n))
}

// CheckPassword reports whether pw matches hash. The keys are compared in
// constant time. A malformed or empty hash never matches, and costs as much as
// a real one with the current parameters: a caller can check a password for a
// user who does not exist by passing "" and answer in the same time as for one
// who does.
func CheckPassword(hash, pw string) bool {
	p, err := parsePasswordHash(hash)
	valid := err == nil
	if !valid {
		p = argonParams{Memory: argonMemory, Time: argonTime, Threads: argonThreads,
			Salt: make([]byte, argonSaltLen), Key: make([]byte, argonKeyLen)}
	}
	return subtle.ConstantTimeCompare(idKey(pw, p, len(p.Key)), p.Key) == 1 && valid
}

// PasswordNeedsRehash reports whether hash was made with other parameters than
// HashPassword uses now (or is malformed): after a successful login, the caller
// may store a new hash of the same password.
func PasswordNeedsRehash(hash string) bool {
	p, err := parsePasswordHash(hash)
	return err != nil || p.Memory != argonMemory || p.Time != argonTime || p.Threads != argonThreads ||
		len(p.Salt) != argonSaltLen || len(p.Key) != argonKeyLen
}

// String formats p as a PHC string.
func (p argonParams) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(p.Salt), b64.EncodeToString(p.Key))
}

// parsePasswordHash reads a PHC string of argon2id, version 19. It accepts only
// the canonical form HashPassword writes (parameters in the order m, t, p,
// decimal without leading zeros, base64 without padding), so a hash that parses
// formats back to the same string.
func parsePasswordHash(s string) (argonParams, error) {
	var p argonParams
	parts := strings.Split(s, "$")
	// The base64 decoder skips line breaks; the canonical form has none.
	if strings.ContainsAny(s, "\r\n") || len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, fmt.Errorf("password hash: not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, fmt.Errorf("password hash: want parameters m, t, p")
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return p, fmt.Errorf("password hash: want parameter %s", name)
		}
		n, err := parseDecimal(v)
		if err != nil {
			return p, fmt.Errorf("password hash: parameter %s: %w", name, err)
		}
		vals[i] = n
	}
	m, t, th := vals[0], vals[1], vals[2]
	switch {
	case th < 1 || th > maxArgonThreads:
		return p, fmt.Errorf("password hash: p=%d out of range", th)
	case t < 1 || t > maxArgonTime:
		return p, fmt.Errorf("password hash: t=%d out of range", t)
	case m < 8*th || m > maxArgonMemory:
		return p, fmt.Errorf("password hash: m=%d out of range", m)
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, fmt.Errorf("password hash: bad salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, fmt.Errorf("password hash: bad key")
	}
	return argonParams{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), Salt: salt, Key: key}, nil
}

// parseDecimal reads a positive decimal number of at most ten digits, without
// sign or leading zeros.
func parseDecimal(s string) (uint64, error) {
	if s == "" || len(s) > 10 || s[0] == '0' {
		return 0, fmt.Errorf("bad number %q", s)
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number %q", s)
		}
	}
	return strconv.ParseUint(s, 10, 64)
}
