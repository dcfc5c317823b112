package websale

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/vend-shop/vend"
)

// vectorPassword is the password of the synthetic vectors W-A…W-D
// (protocols.md 3.4): 32 ASCII bytes, so raw works too.
const vectorPassword = "test-password-websale-0123456789"

// wrongPassword is also 32 bytes, so that every key derivation accepts it.
const wrongPassword = "WRONG-password-websale-012345678"

// vectorIV is the IV of W-C and W-D.
var vectorIV = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

type vector struct {
	name     string // testdata/<name>.hex
	settings Settings
}

func vectors() []vector {
	return []vector{
		{"w-a", Settings{KDFRaw, ModeECB, PaddingPKCS7}},
		{"w-b", Settings{KDFRaw, ModeCBCZeroIV, PaddingPKCS7}},
		{"w-c", Settings{KDFSHA256, ModeCBCIVPrefix, PaddingPKCS7}},
		{"w-d", Settings{KDFSHA256Hex32, ModeCBCIVPrefix, PaddingPKCS7}},
	}
}

// vectorLink is what every vector decodes to.
func vectorLink() Link {
	return Link{
		Time: time.Unix(1462879316, 0).UTC(), ShopID: "myshop", SubshopID: "1", OrderID: "1000123",
		Email: "kunde@example.de", CustomerNumber: "K4711", UserIndex: "42", ProductNumber: "1234567890",
	}
}

func readTestdata(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func readVector(tb testing.TB, name string) string {
	tb.Helper()
	return readTestdata(tb, name+".hex")
}

func mustDecoder(tb testing.TB, password string, s Settings) *Decoder {
	tb.Helper()
	d, err := NewDecoder(password, s)
	if err != nil {
		tb.Fatalf("NewDecoder(%s): %v", s, err)
	}
	return d
}

func checkLink(tb testing.TB, got, want Link) {
	tb.Helper()
	if !got.Time.Equal(want.Time) {
		tb.Errorf("Time = %v, want %v", got.Time, want.Time)
	}
	got.Time, want.Time = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("link\n got %#v\nwant %#v", got, want)
	}
}

// checkRefusal asserts err is a *LinkError that shows the buyer exactly what
// every other refusal shows, and leaks no secret into the log line.
func checkRefusal(tb testing.TB, err error, secrets ...string) *LinkError {
	tb.Helper()
	var lerr *LinkError
	if !errors.As(err, &lerr) {
		tb.Fatalf("err = %v (%T), want a *LinkError", err, err)
	}
	if lerr.Reason == "" || lerr.Detail == "" {
		tb.Fatalf("refusal without reason or detail: %#v", lerr)
	}
	if code, msg := vend.ErrorCode(err), vend.ErrorMessage(err); code != vend.ENOTFOUND || msg != PublicMessage {
		tb.Fatalf("public outcome = %s %q, want %s %q", code, msg, vend.ENOTFOUND, PublicMessage)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			tb.Fatalf("error %q contains a secret", err)
		}
	}
	return lerr
}

func TestVectors_Plaintext(t *testing.T) {
	if got, want := vectorLink().Plaintext(), readTestdata(t, "plaintext.txt"); got != want {
		t.Fatalf("Plaintext()\n got %s\nwant %s", got, want)
	}
}

func TestDecoder_Vectors(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			d := mustDecoder(t, vectorPassword, v.settings)
			l, err := d.Decode(readVector(t, v.name))
			if err != nil {
				t.Fatal(err)
			}
			checkLink(t, l, vectorLink())
			if got, want := l.Plaintext(), readTestdata(t, "plaintext.txt"); got != want {
				t.Errorf("plaintext\n got %s\nwant %s", got, want)
			}
		})
	}
}

// Each vector must decode under its own setting and under no other: the
// grammar is the oracle the whole auto-detection rests on.
func TestDecoder_VectorsFailEveryOtherCandidate(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			data := readVector(t, v.name)
			decoded := 0
			for _, s := range (Settings{}).Candidates() {
				d, err := NewDecoder(vectorPassword, s)
				if err != nil {
					if s.KDF != KDFHexKey {
						t.Fatalf("NewDecoder(%s): %v", s, err)
					}
					continue // the password is not 64 hex digits
				}
				_, err = d.Decode(data)
				if sameSetting(s, v.settings) {
					if err != nil {
						t.Errorf("%s: %v", s, err)
					}
					decoded++
					continue
				}
				lerr := checkRefusal(t, err, vectorPassword)
				if lerr.Reason.stage() == 0 {
					t.Errorf("%s: reason %s is not a decode failure", s, lerr.Reason)
				}
			}
			if decoded == 0 {
				t.Error("no candidate decoded the vector")
			}
		})
	}
}

// sameSetting treats raw-padded as raw: for a 32-byte password they are one key.
func sameSetting(a, b Settings) bool {
	if a.KDF == KDFRawPadded {
		a.KDF = KDFRaw
	}
	return a == b
}

func TestDetect_Vectors(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			matches, err := Detect(vectorPassword, readVector(t, v.name))
			if err != nil {
				t.Fatal(err)
			}
			if len(matches) != 1 || matches[0].Settings != v.settings {
				t.Fatalf("Detect = %v, want exactly %s", settingsOf(matches), v.settings)
			}
			checkLink(t, matches[0].Link, vectorLink())
		})
	}
}

func settingsOf(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Settings.String())
	}
	return out
}

func TestDetect_Input(t *testing.T) {
	hexC := readVector(t, "w-c")
	for _, tt := range []struct{ name, input string }{
		{"bare hex", hexC},
		{"upper-case hex", strings.ToUpper(hexC)},
		{"WEBSALE link", "https://dl.example.com/?dldata=" + hexC},
		{"vend path", "/websale?dldata=" + hexC},
		{"other parameters and fragment", "https://dl.example.com/?a=1;b&dldata=" + hexC + "&z=2#top"},
		{"parameter only", "dldata=" + hexC},
		{"pasted with newline", "  https://dl.example.com/?dldata=" + hexC + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			matches, err := Detect(vectorPassword, tt.input)
			if err != nil {
				t.Fatal(err)
			}
			if len(matches) != 1 || matches[0].Settings != vectors()[2].settings {
				t.Fatalf("Detect = %v", settingsOf(matches))
			}
		})
	}
}

func TestDetect_Err(t *testing.T) {
	hexC := readVector(t, "w-c")
	for _, tt := range []struct {
		name, password, input string
		reason                Reason
	}{
		{"ErrWrongPassword", wrongPassword, hexC, ReasonGrammar},
		{"ErrNoDldata", vectorPassword, "https://dl.example.com/?data=" + hexC, ReasonFormat},
		{"ErrNotHex", vectorPassword, "https://dl.example.com/?dldata=xyz1", ReasonFormat},
		{"ErrEmpty", vectorPassword, "https://dl.example.com/?dldata=", ReasonFormat},
	} {
		t.Run(tt.name, func(t *testing.T) {
			matches, err := Detect(tt.password, tt.input)
			if len(matches) != 0 {
				t.Fatalf("matches = %v", settingsOf(matches))
			}
			if got := checkRefusal(t, err, tt.password).Reason; got != tt.reason {
				t.Fatalf("reason = %s, want %s", got, tt.reason)
			}
		})
	}
	if _, err := Detect("", hexC); err == nil {
		t.Fatal("Detect with no password: no error")
	}
}

// A flipped bit anywhere in a ciphertext block must be refused exactly like a
// wrong key: same error type, same public code and message. Only the log
// reason (padding or grammar) may tell them apart.
func TestDecoder_BitFlipLooksLikeWrongKey(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			data, err := hex.DecodeString(readVector(t, v.name))
			if err != nil {
				t.Fatal(err)
			}
			_, wrongErr := mustDecoder(t, wrongPassword, v.settings).Decode(hex.EncodeToString(data))
			checkRefusal(t, wrongErr, wrongPassword)
			d := mustDecoder(t, vectorPassword, v.settings)
			for i := firstCiphertextByte(v.settings.Mode); i < len(data); i++ {
				for bit := range 8 {
					flipped := bytes.Clone(data)
					flipped[i] ^= 1 << bit
					_, err := d.Decode(hex.EncodeToString(flipped))
					if err == nil {
						t.Fatalf("byte %d bit %d flipped: decoded", i, bit)
					}
					checkRefusal(t, err, vectorPassword)
					if reflect.TypeOf(err) != reflect.TypeOf(wrongErr) || err.Error() == "" {
						t.Fatalf("byte %d bit %d: error type %T, wrong key gives %T", i, bit, err, wrongErr)
					}
				}
			}
		})
	}
}

// firstCiphertextByte skips the IV: it is not a ciphertext block, and editing
// it is the documented malleability (see TestDecoder_IVFlipOnlyMovesTheTimestamp).
func firstCiphertextByte(m Mode) int {
	if m == ModeCBCIVPrefix {
		return 16
	}
	return 0
}

// With cbc-ivprefix an edited IV edits the first plaintext block, "<1>" and
// the timestamp, in place. This pins the caveat the package doc describes:
// such a link may decode, but only its time can differ, never whose order or
// which product it names.
func TestDecoder_IVFlipOnlyMovesTheTimestamp(t *testing.T) {
	for _, v := range vectors()[2:] {
		t.Run(v.name, func(t *testing.T) {
			data, _ := hex.DecodeString(readVector(t, v.name))
			d := mustDecoder(t, vectorPassword, v.settings)
			moved := 0
			for i := range 16 {
				for bit := range 8 {
					flipped := bytes.Clone(data)
					flipped[i] ^= 1 << bit
					l, err := d.Decode(hex.EncodeToString(flipped))
					if err != nil {
						checkRefusal(t, err, vectorPassword)
						continue
					}
					if l.Time.Equal(vectorLink().Time) {
						t.Fatalf("byte %d bit %d: decoded to the same time", i, bit)
					}
					l.Time = vectorLink().Time
					checkLink(t, l, vectorLink())
					moved++
				}
			}
			if moved == 0 {
				t.Fatal("no IV flip decoded: the malleability caveat in the package doc no longer holds; update it")
			}
		})
	}
}

// Encrypt with the vectors' IV reproduces them byte for byte, so Encrypt and
// the decoder cannot agree on a private mistake.
func TestEncrypt_Vectors(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			got, err := Encrypt(vectorLink().Plaintext(), v.settings, vectorPassword, bytes.NewReader(vectorIV))
			if err != nil {
				t.Fatal(err)
			}
			if want := readVector(t, v.name); got != want {
				t.Fatalf("Encrypt\n got %s\nwant %s", got, want)
			}
		})
	}
}

// The CBC product swap of the package doc, done here with the key so that the
// test can look inside: a buyer with a long e-mail address changes the
// ciphertext block that decrypts inside it, which turns that plaintext block
// into random bytes and makes the next one whatever the buyer wants, here the
// end of the address, another product number and the padding. The test pins
// that the mechanism works, that the grammar alone lets some of the random
// blocks through, and that the e-mail address check refuses those.
func TestDecoder_CBCProductSwap(t *testing.T) {
	s := Settings{KDFSHA256, ModeCBCIVPrefix, PaddingPKCS7}
	l := vectorLink()
	l.CustomerNumber, l.UserIndex = "", ""
	l.Email = strings.Repeat("a", 40) + "@example.de"
	out, err := Encrypt(l.Plaintext(), s, vectorPassword, bytes.NewReader(vectorIV))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := hex.DecodeString(out)
	pt := []byte(l.Plaintext())
	k := strings.Index(l.Plaintext(), "<5>")/16 + 1 // first block wholly inside the address
	block, err := newBlock(s.KDF, vectorPassword)
	if err != nil {
		t.Fatal(err)
	}
	d := mustDecoder(t, vectorPassword, s)
	grammarOnly, decoded := 0, 0
	for a := byte('a'); a <= 'z'; a++ {
		for b := byte('a'); b <= 'z'; b++ {
			target := append([]byte{a, b}, "</5><8>X1</8>\x01"...)
			// The IV, then the ciphertext blocks of plaintext blocks 0…k+1;
			// the block of plaintext block k chains into block k+1.
			forged := bytes.Clone(data[:16*(k+3)])
			for i := range 16 {
				forged[16*(k+1)+i] ^= pt[16*(k+1)+i] ^ target[i]
			}
			plain, lerr := decrypt(block, s.Mode, forged)
			if lerr != nil || !bytes.Equal(plain[16*(k+1):], target) {
				t.Fatalf("block %d is %q, want %q", k+1, plain[16*(k+1):], target)
			}
			if garbled := fromLatin1(string(plain[16*k : 16*(k+1)])); !strings.ContainsAny(garbled, "<") && !strings.ContainsFunc(garbled, unicode.IsControl) {
				grammarOnly++
			}
			if _, err := d.Decode(hex.EncodeToString(forged)); err == nil {
				decoded++
			}
		}
	}
	if grammarOnly == 0 {
		t.Error("no random block passes the grammar alone: the package doc overstates the risk; update it")
	}
	if decoded != 0 {
		t.Errorf("%d of %d forged links decode (the grammar alone would let %d through)", decoded, 26*26, grammarOnly)
	}
	t.Logf("of %d forgeries, %d pass the grammar alone, %d the e-mail address check too", 26*26, grammarOnly, decoded)
}
