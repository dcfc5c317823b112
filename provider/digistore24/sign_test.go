package digistore24

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// testPassphrase signs every vector and sample of protocols.md 2.5 and 2.10.
const testPassphrase = "s3cret-passphrase"

// v9Upper is V9 signed with upper-case keys (protocols.md 2.5).
const v9Upper = "BAAD9026159EE9448B2D19E7B6704CAB1CFD22C176E6228B19D0DEF1F4D0FEC688F71ED688DDB1FD456EBD6D4CEC041F6D3FB49478E68705A7A25A85BA635BBF"

// vector is one entry of testdata/digistore24-sha-sign.json, Digistore24's own
// vectors (V1–V9).
type vector struct {
	Name          string            `json:"name"`
	UppercaseKeys bool              `json:"uppercaseKeys"`
	Params        map[string]string `json:"params"`
	Expected      string            `json:"expected"`
}

func loadVectors(tb testing.TB) (passphrase string, vectors []vector) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "digistore24-sha-sign.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var file struct {
		Passphrase string   `json:"passphrase"`
		Algorithm  string   `json:"algorithm"`
		Vectors    []vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		tb.Fatal(err)
	}
	if file.Algorithm != "sha512" || len(file.Vectors) != 9 {
		tb.Fatalf("unexpected vector file: %s, %d vectors", file.Algorithm, len(file.Vectors))
	}
	return file.Passphrase, file.Vectors
}

// pairsOf turns a map into pairs in sorted order; Sign must not depend on it.
func pairsOf(params map[string]string) []Pair {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Pair, len(keys))
	for i, k := range keys {
		out[i] = Pair{k, params[k]}
	}
	return out
}

// reversed returns pairs in the opposite order, to show order does not matter.
func reversed(pairs []Pair) []Pair {
	out := make([]Pair, len(pairs))
	for i, p := range pairs {
		out[len(pairs)-1-i] = p
	}
	return out
}

// withSignature returns the pairs with sha_sign set to sig, replacing any there.
func withSignature(pairs []Pair, sig string) *Form {
	f := &Form{}
	for _, p := range pairs {
		if p.Key != "sha_sign" {
			f.Pairs = append(f.Pairs, p)
		}
	}
	f.Pairs = append(f.Pairs, Pair{"sha_sign", sig})
	return f
}

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return []byte(strings.TrimRight(string(b), "\r\n"))
}

var sampleNames = []string{"connection-test.ipn", "payment.ipn", "refund.ipn", "chargeback.ipn"}

func TestSign_Vectors(t *testing.T) {
	passphrase, vectors := loadVectors(t)
	if passphrase != testPassphrase {
		t.Fatalf("vector passphrase %q", passphrase)
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			pairs := pairsOf(v.Params)
			if got := Sign(pairs, passphrase, v.UppercaseKeys); got != v.Expected {
				t.Errorf("Sign = %s\nwant   %s", got, v.Expected)
			}
			if got := Sign(reversed(pairs), passphrase, v.UppercaseKeys); got != v.Expected {
				t.Errorf("Sign depends on input order: %s", got)
			}
			want := OriginalKeys
			if v.UppercaseKeys {
				want = UpperKeys
			}
			got, err := Verify(withSignature(pairs, v.Expected), passphrase)
			if err != nil || got != want {
				t.Errorf("Verify = %v, %v, want %v", got, err, want)
			}
		})
	}
}

func TestSign_Extra(t *testing.T) {
	x1 := []Pair{{"order_id", "X1"}, {"orderform_id", "7"}, {"product_id", "42"}}
	tom := []Pair{{"order_id", "X2"}, {"product_name", "Tom &amp; Jerry"}}
	tests := []struct {
		name       string
		pairs      []Pair
		passphrase string
		upper      bool
		want       string
	}{
		{"X1 original case sorts order_id before orderform_id", x1, testPassphrase, false,
			"A4468850858FB91B50009C40312732E877745427543DFF2943C2C4B42363E188CD2C46C3B6D047A56CE63B55D23E7714D8C065BD6B1ACEF3C6E73435886F53C9"},
		{"X2 upper case sorts ORDERFORM_ID before ORDER_ID", x1, testPassphrase, true,
			"DA6D2591960F9D22102679CCD6FB360A25DB348494D4ED3FA8D3B341E8B3C714D65B261B7A4A08CC823762404867101AEFA607005B103FCD1DC4AC5285BBF5DE"},
		{"X3 zero values are kept", []Pair{{"order_id", "X3"}, {"pay_sequence_no", "0"}, {"upsell_no", "0"}}, testPassphrase, false,
			"645B5D8C49A656784826DEBD43069B724BDF70CBF6A1AC77B9F8FDA75F35D58AADFA47EE0D3DC6A2BAEC5AF8A618C1359F5C683951F58258928B513A70E85EBB"},
		{"X4 entities are signed raw", tom, testPassphrase, false,
			"1A5519F0F6B58430B5D36751A89ABB9D69E4BB82B3D754AD603B6C63CA622C962DE84E4E3192FE7DCFF3E40BA1387350BAB4B8C59D6E6963CDEEC54787EE3176"},
		{"X5 decoded value signed raw", []Pair{{"order_id", "X2"}, {"product_name", "Tom & Jerry"}}, testPassphrase, false,
			"4F625B7D47D7A603009EECD12092E107117598302B59369E4F36D1E55168409AEA40767A1AB35BE7EC5F1C048691D20BBB93594E335027522AF247FDCB2A8210"},
		{"X6 connection test", []Pair{{"event", "connection_test"}, {"api_mode", "test"}}, "TestPassphrase123", false,
			"A3D221F65086BB3D98123BE4159FE19B2B7A90AE6B1D7F3A9ABBBFC9880087473C10D45A09CC3E35A13658C0D84D21C934C8885D37E98541DBFF3958F21E0C34"},
		{"single field (florianlenz test)", []Pair{{"parameter", "value"}}, "i_am_a_secure_password", false,
			"3D73B82A10A53881D453096990002B0816927C2FE2AE34FF7DEA0CF4DFB555D49B7A8FE4F154B91834EDFEFE8CBEE6076DCFB06DA097B25F2FC285F96A366F7F"},
		// The vendor function under PHP 8.2 computed the next three.
		{"mixed-case keys sort upper before lower", []Pair{{"placeholder_TITLE", "T"}, {"placeholder_DESCRIPTION", "D"}, {"placeholder_a", "a"}, {"order_id", "M"}}, testPassphrase, false,
			"937319992B8FCE982E1F11E523F04B29622FD891A2DC535873394ED91E84B87BE117F855820284840CA928A4BB7AD53CEC18275FFEDBD6EE3089C741A454E7BD"},
		{"mixed-case keys upper-cased", []Pair{{"placeholder_TITLE", "T"}, {"placeholder_DESCRIPTION", "D"}, {"placeholder_a", "a"}, {"order_id", "M"}}, testPassphrase, true,
			"FBCD7532FCE7AFC94B818729606FDD8C1800EC21B3A4B1BE6CBFF98A1048EAC5E45E407829A448BB0D6742A2A86086D0A6C73D6220EC99E0897062D344CA8512"},
		{"keys that meet when upper-cased keep their original order", []Pair{{"b", "2"}, {"B", "1"}, {"a", "3"}}, testPassphrase, true,
			"E001C71323498BE7532CCE8EB900FA497E4CDED53C88E2A47E01E5102EDD2079C8C038AA6CE29A2FBD165DB0EB33EBC95C46C4DFF777FF4D43DABCA7C96760CE"},
		{"last duplicate wins", []Pair{{"order_id", "WRONG"}, {"product_id", "42"}, {"order_id", "ORD-1"}}, testPassphrase, false,
			"9A23DE2603A33D17D935908580B5DB90C452DE8E68556E2A4AD96F1C3EC3BFD2EE3AE47B819B96286812224FBCED943D0ACF48C8C20CA57570E2263B6ABAF099"},
		{"SHASIGN and any-case sha_sign are left out", []Pair{{"order_id", "ORD-1"}, {"SHASIGN", "X"}, {"product_id", "42"}, {"Sha_Sign", "Y"}}, testPassphrase, false,
			"9A23DE2603A33D17D935908580B5DB90C452DE8E68556E2A4AD96F1C3EC3BFD2EE3AE47B819B96286812224FBCED943D0ACF48C8C20CA57570E2263B6ABAF099"},
		{"empty passphrase signs nothing", x1, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign(tt.pairs, tt.passphrase, tt.upper); got != tt.want {
				t.Errorf("Sign = %s\nwant   %s", got, tt.want)
			}
		})
	}
}

func TestVerify_Samples(t *testing.T) {
	for _, name := range sampleNames {
		t.Run(name, func(t *testing.T) {
			got, err := Verify(ParseForm(readSample(t, name)), testPassphrase)
			if err != nil || got != OriginalKeys {
				t.Fatalf("Verify = %v, %v, want %v", got, err, OriginalKeys)
			}
		})
	}
}

func TestVerify_Conventions(t *testing.T) {
	_, vectors := loadVectors(t)
	v9 := pairsOf(vectors[8].Params)
	tom := []Pair{{"order_id", "X2"}, {"product_name", "Tom &amp; Jerry"}}
	// Values PHP's decoder and Go's html.UnescapeString decode differently: a
	// signature over Go's output would not match.
	quirks := []Pair{{"order_id", "D2"}, {"orderform_id", "7"}, {"product_name", "O&#039;Neil &apos;s &copy 2024 &euro;5"}}
	tests := []struct {
		name  string
		pairs []Pair
		sig   string
		want  Convention
	}{
		{"V9 upper-case signature is candidate (b)", v9, v9Upper, UpperKeys},
		{"X2 is candidate (b)", []Pair{{"order_id", "X1"}, {"orderform_id", "7"}, {"product_id", "42"}},
			"DA6D2591960F9D22102679CCD6FB360A25DB348494D4ED3FA8D3B341E8B3C714D65B261B7A4A08CC823762404867101AEFA607005B103FCD1DC4AC5285BBF5DE", UpperKeys},
		{"X5 is candidate (c)", tom,
			"4F625B7D47D7A603009EECD12092E107117598302B59369E4F36D1E55168409AEA40767A1AB35BE7EC5F1C048691D20BBB93594E335027522AF247FDCB2A8210", OriginalKeysHTMLDecoded},
		// Computed with the vendor function under PHP 8.2 (upper keys, decode on).
		{"upper keys and decoded values are candidate (d)", tom,
			"79E38953B50DEB4B4FCAFB189F7C1FB1EA94C004F140549216A6241C8C52FA75723D5E16E0449E0CD16B39685E792B8979D34B4B21465F725CC3D9D971C2C602", UpperKeysHTMLDecoded},
		{"PHP entity quirks, candidate (c)", quirks,
			"24E9ADFAA28FF03F70F6913C698B717B3DDDD5CC15C1EF809AD67C9849490D563DFDE609A792BE07CC7E294D3E87EBCF9E11A8E0D5B0CC75848568B5AFA750B7", OriginalKeysHTMLDecoded},
		{"PHP entity quirks, candidate (d)", quirks,
			"C00DE741239E57EC835ABEF1DE964954593E5209EB574AD451A5BDD3A03B22F5C956F7FBF3DF6BCF5DFC8CF24663FE0D89AEB29D28905C8FE0A2FBDE8682FEFF", UpperKeysHTMLDecoded},
		{"lower-case hex is accepted", []Pair{{"order_id", "ORD-1"}, {"product_id", "42"}},
			strings.ToLower("9A23DE2603A33D17D935908580B5DB90C452DE8E68556E2A4AD96F1C3EC3BFD2EE3AE47B819B96286812224FBCED943D0ACF48C8C20CA57570E2263B6ABAF099"), OriginalKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(withSignature(tt.pairs, tt.sig), testPassphrase)
			if err != nil || got != tt.want {
				t.Fatalf("Verify = %v, %v, want %v", got, err, tt.want)
			}
		})
	}
	t.Run("V9 upper-case signature is not the original-case one", func(t *testing.T) {
		if Sign(v9, testPassphrase, false) == v9Upper || Sign(v9, testPassphrase, true) != v9Upper {
			t.Fatal("V9 signs the same in both key cases, or not as protocols.md says")
		}
	})
	t.Run("SHASIGN is read like sha_sign", func(t *testing.T) {
		f := &Form{Pairs: []Pair{{"order_id", "ORD-1"}, {"product_id", "42"},
			{"SHASIGN", "9A23DE2603A33D17D935908580B5DB90C452DE8E68556E2A4AD96F1C3EC3BFD2EE3AE47B819B96286812224FBCED943D0ACF48C8C20CA57570E2263B6ABAF099"}}}
		if got, err := Verify(f, testPassphrase); err != nil || got != OriginalKeys {
			t.Fatalf("Verify = %v, %v", got, err)
		}
	})
}

func TestVerify_Errors(t *testing.T) {
	body := readSample(t, "payment.ipn")
	tests := []struct {
		name       string
		body       string
		passphrase string
		want       error
	}{
		{"tampered amount", strings.Replace(string(body), "amount=49.00", "amount=0.49", 1), testPassphrase, ErrSignature},
		{"tampered key", strings.Replace(string(body), "product_id=512345", "product_ID=512345", 1), testPassphrase, ErrSignature},
		{"added field", string(body) + "&upsell_path=x", testPassphrase, ErrSignature},
		{"value moved to a later duplicate", string(body) + "&amount=0.49", testPassphrase, ErrSignature},
		{"wrong passphrase", string(body), "s3cret-passphrase ", ErrSignature},
		{"empty passphrase", string(body), "", ErrNoPassphrase},
		{"missing signature", strings.Split(string(body), "&sha_sign=")[0], testPassphrase, ErrNoSignature},
		{"empty signature", strings.Split(string(body), "&sha_sign=")[0] + "&sha_sign=", testPassphrase, ErrNoSignature},
		{"empty body", "", testPassphrase, ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ParseForm([]byte(tt.body))
			c, err := Verify(f, tt.passphrase)
			if !errors.Is(err, tt.want) || c != 0 {
				t.Fatalf("Verify = %v, %v, want %v", c, err, tt.want)
			}
			checkNoSecret(t, err, tt.passphrase, Sign(f.Pairs, testPassphrase, false))
		})
	}
	t.Run("added empty field still verifies", func(t *testing.T) {
		// Empty values are not signed, so they cannot be forged into meaning
		// anything either: Normalize treats empty as missing.
		if _, err := Verify(ParseForm(append(body, "&upsell_path="...)), testPassphrase); err != nil {
			t.Fatal(err)
		}
	})
}

// checkNoSecret fails if an error message holds the passphrase or a signature.
func checkNoSecret(t *testing.T, err error, passphrase, expected string) {
	t.Helper()
	msg := err.Error()
	if passphrase != "" && strings.Contains(msg, passphrase) || strings.Contains(msg, expected) {
		t.Fatalf("error %q leaks a secret", msg)
	}
}

func TestVerify_BitFlips(t *testing.T) {
	f := ParseForm(readSample(t, "payment.ipn"))
	sig := f.Get("sha_sign")
	for i := range len(sig) {
		for bit := range 8 {
			flipped := []byte(sig)
			flipped[i] ^= 1 << bit
			// Flipping 0x20 of a letter changes only its case, which the
			// case-insensitive compare must accept.
			caseOnly := strings.EqualFold(string(flipped), sig)
			c, err := Verify(withSignature(f.Pairs, string(flipped)), testPassphrase)
			switch {
			case caseOnly && (err != nil || c != OriginalKeys):
				t.Fatalf("byte %d bit %d (case only): Verify = %v, %v", i, bit, c, err)
			case !caseOnly && !errors.Is(err, ErrSignature):
				t.Fatalf("byte %d bit %d: Verify = %v, %v, want ErrSignature", i, bit, c, err)
			}
		}
	}
}

func TestConvention_String(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range append(conventions[:], 0) {
		s := c.String()
		if s == "" || seen[s] {
			t.Fatalf("%d: %q is empty or not unique", c, s)
		}
		seen[s] = true
	}
}

func FuzzVerify(f *testing.F) {
	for _, name := range sampleNames {
		f.Add(readSample(f, name), testPassphrase)
	}
	f.Add([]byte("order_id=X2&product_name=Tom+%26amp%3B+Jerry&sha_sign=4F62"), "p")
	f.Add([]byte("a=1&A=2&SHASIGN=&sha_sign=x&Sha_Sign=y"), "p")
	f.Add([]byte("%ff=%fe&=&&x"), "\xff")
	f.Fuzz(func(t *testing.T, body []byte, passphrase string) {
		form := ParseForm(body)
		if _, err := Verify(form, passphrase); err != nil &&
			!errors.Is(err, ErrNoPassphrase) && !errors.Is(err, ErrNoSignature) && !errors.Is(err, ErrSignature) {
			t.Fatalf("unexpected error %v", err)
		}
		if passphrase == "" {
			return
		}
		for _, upper := range []bool{false, true} {
			sig := Sign(form.Pairs, passphrase, upper)
			signed := withSignature(form.Pairs, sig)
			c, err := Verify(signed, passphrase)
			if err != nil || c != OriginalKeys && (!upper || c != UpperKeys) {
				t.Fatalf("Verify(Sign(x), upper=%v) = %v, %v", upper, c, err)
			}
			// Flip one bit that is not a letter's case bit.
			forged := []byte(sig)
			forged[len(forged)-1] ^= 0x01
			if _, err := Verify(withSignature(form.Pairs, string(forged)), passphrase); !errors.Is(err, ErrSignature) {
				t.Fatalf("a flipped signature verified: %v", err)
			}
		}
	})
}
