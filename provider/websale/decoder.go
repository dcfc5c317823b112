package websale

import (
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"strings"
)

// MaxDataLen caps a dldata value, in hex characters, before anything is
// decoded. A real one has a few hundred; the cap keeps a hostile URL from costing
// more than a few microseconds per candidate.
const MaxDataLen = 4096

// Decoder decrypts dldata values with one password and one Settings. It holds
// only expanded AES ciphers, never the password, and is safe for concurrent use.
type Decoder struct {
	settings   Settings
	candidates []candidate
}

type candidate struct {
	settings Settings
	block    cipher.Block
}

// Match is one concrete setting that decodes a link, and what it decoded to.
type Match struct {
	Settings Settings
	Link     Link
}

// NewDecoder prepares a decoder. Zero fields of s mean Auto. It fails closed on
// an empty password, and fails when a pinned key derivation cannot use the
// password (raw and a password that is not 32 bytes, hexkey and one that is not
// 64 hex digits), so a wrong setup shows at startup, not at the first buyer.
func NewDecoder(password string, s Settings) (*Decoder, error) {
	if password == "" {
		return nil, errors.New("websale: no password configured (websale.password)")
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	blocks, err := keyBlocks(password, s.KDF)
	if err != nil {
		return nil, err
	}
	d := &Decoder{settings: s}
	for _, c := range s.Candidates() {
		if block, ok := blocks[c.KDF]; ok {
			d.candidates = append(d.candidates, candidate{settings: c, block: block})
		}
	}
	return d, nil
}

// keyBlocks derives one cipher per key derivation that kdf allows. In auto
// mode a derivation that does not fit the password is skipped, and raw-padded
// is skipped for a 32-byte password: its key is raw's, and Detect would
// report two names for one setting.
func keyBlocks(password string, kdf KDF) (map[KDF]cipher.Block, error) {
	blocks := map[KDF]cipher.Block{}
	for _, k := range pick(kdf, KDFAuto, kdfOrder()) {
		if kdf == KDFAuto && k == KDFRawPadded && len(password) == keySize {
			continue
		}
		block, err := newBlock(k, password)
		if err != nil && kdf == KDFAuto {
			continue
		} else if err != nil {
			return nil, err
		}
		blocks[k] = block
	}
	return blocks, nil
}

// Settings returns the configured settings, Auto fields included.
func (d *Decoder) Settings() Settings {
	return d.settings
}

// String names the settings only, so that logging a Decoder cannot leak key material.
func (d *Decoder) String() string {
	return "websale.Decoder(" + d.settings.String() + ")"
}

// GoString keeps %#v as quiet as %v.
func (d *Decoder) GoString() string {
	return d.String()
}

// Decode decrypts and parses a dldata value (hex, either case). Every error is
// a *LinkError. It does not check shop or age: see Check.
func (d *Decoder) Decode(dldata string) (Link, error) {
	l, _, err := d.DecodeMatch(dldata)
	return l, err
}

// DecodeMatch is Decode that also returns the concrete setting that decoded the
// link, so that while a setting is still auto the log can say what to pin. With
// auto, the first candidate in Candidates order wins.
func (d *Decoder) DecodeMatch(dldata string) (Link, Settings, error) {
	data, lerr := parseHex(dldata)
	if lerr != nil {
		return Link{}, Settings{}, lerr
	}
	matches, lerr := d.try(data, false)
	if lerr != nil {
		return Link{}, Settings{}, lerr
	}
	return matches[0].Link, matches[0].Settings, nil
}

// try opens data with each candidate, stopping at the first match unless all.
// A refusal names the candidate that got furthest: in auto mode that is the
// one worth reading in the log.
func (d *Decoder) try(data []byte, all bool) ([]Match, *LinkError) {
	var matches []Match
	var furthest *LinkError
	for _, c := range d.candidates {
		l, err := c.open(data)
		if err != nil {
			if furthest == nil || err.Reason.stage() > furthest.Reason.stage() {
				furthest = err
			}
			continue
		}
		matches = append(matches, Match{Settings: c.settings, Link: l})
		if !all {
			break
		}
	}
	switch {
	case len(matches) > 0:
		return matches, nil
	case furthest == nil:
		return nil, rejectf(ReasonGrammar, "no key derivation of %s fits the password", d.settings)
	case len(d.candidates) > 1:
		return nil, rejectf(furthest.Reason, "none of %d candidates for %s decodes the link; furthest: %s", len(d.candidates), d.settings, furthest.Detail)
	}
	return nil, furthest
}

// open decrypts, unpads and parses with one concrete setting.
func (c candidate) open(data []byte) (Link, *LinkError) {
	padded, err := decrypt(c.block, c.settings.Mode, data)
	if err != nil {
		return Link{}, rejectf(err.Reason, "%s: %s", c.settings, err.Detail)
	}
	pt, ok := unpad(c.settings.Padding, padded)
	if !ok {
		// Parse anyway, so that a bad padding costs about as much time as a
		// bad grammar and the response time is no padding oracle either.
		_, _ = parsePlaintext(padded)
		return Link{}, rejectf(ReasonPadding, "%s: the padding is not valid", c.settings)
	}
	l, perr := parsePlaintext(pt)
	if perr != nil {
		return Link{}, rejectf(ReasonGrammar, "%s: not a dldata plaintext: %v", c.settings, perr)
	}
	return l, nil
}

// parseHex checks the public shape of the value before any cryptography.
func parseHex(s string) ([]byte, *LinkError) {
	switch {
	case s == "":
		return nil, rejectf(ReasonFormat, "dldata is empty")
	case len(s) > MaxDataLen:
		return nil, rejectf(ReasonFormat, "dldata has %d characters, more than %d", len(s), MaxDataLen)
	case len(s)%2 != 0:
		return nil, rejectf(ReasonFormat, "dldata has an odd number (%d) of hex digits", len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, rejectf(ReasonFormat, "dldata is not hex")
	}
	return b, nil
}

// Detect tries every candidate setting on one link and returns all that decode
// it, in Candidates order. link is the hex value, a whole link
// (https://shop.example/?dldata=…, /websale?dldata=…) or "dldata=…". It is an
// onboarding tool for `vend websale detect`; serving uses a pinned Decoder.
//
// More than one match means the link cannot tell them apart. The common case
// is zero and none padding: both decode every link whose padding added no NUL
// bytes, which is every none-padded link (GCM ones, typically) and a
// zero-padded one whose plaintext happened to fill whole blocks. Zero accepts
// every link none does, since a plaintext ends in '>', so pinning the first
// match is safe; a second link settles the rest.
func Detect(password, link string) ([]Match, error) {
	d, err := NewDecoder(password, Settings{})
	if err != nil {
		return nil, err
	}
	value, lerr := dataOf(link)
	if lerr != nil {
		return nil, lerr
	}
	data, lerr := parseHex(value)
	if lerr != nil {
		return nil, lerr
	}
	matches, lerr := d.try(data, true)
	if lerr != nil {
		return nil, lerr
	}
	return matches, nil
}

// dataOf finds the dldata value in what an operator pastes. The query is split
// by hand: net/url would drop a pair with a ';' and hex needs no unescaping.
func dataOf(link string) (string, *LinkError) {
	s := strings.TrimSpace(link)
	s, _, _ = strings.Cut(s, "#")
	_, query, isURL := strings.Cut(s, "?")
	if !isURL {
		query = s
	}
	for pair := range strings.SplitSeq(query, "&") {
		if v, ok := strings.CutPrefix(pair, "dldata="); ok {
			return v, nil
		}
	}
	if isURL || strings.Contains(s, "=") {
		return "", rejectf(ReasonFormat, "the link has no dldata parameter")
	}
	return s, nil
}
