package websale

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

// shopConfig matches vectorLink.
var shopConfig = Config{ShopID: "myshop", SubshopID: "1", MaxAge: 30 * 24 * time.Hour, FutureSkew: time.Minute}

func TestCheck(t *testing.T) {
	made := vectorLink().Time
	withShop := func(shop, subshop string) Config {
		c := shopConfig
		c.ShopID, c.SubshopID = shop, subshop
		return c
	}
	defaults := Config{ShopID: "myshop", SubshopID: "1"}
	mapped := func(m map[string]string) Config {
		c := shopConfig
		c.Products = m
		return c
	}
	for _, tt := range []struct {
		name   string
		cfg    Config
		now    time.Time
		reason Reason // "" means accepted
	}{
		{"OK", shopConfig, made.Add(time.Hour), ""},
		{"OK at exactly the maximum age", shopConfig, made.Add(30 * 24 * time.Hour), ""},
		{"OK within the future skew", shopConfig, made.Add(-time.Minute), ""},
		{"OK with configured ids padded by space", withShop(" myshop ", " 1"), made, ""},
		{"ErrExpired", shopConfig, made.Add(30*24*time.Hour + time.Second), ReasonExpired},
		{"ErrFuture", shopConfig, made.Add(-time.Minute - time.Second), ReasonFuture},
		{"ErrWrongShop", withShop("othershop", "1"), made, ReasonShop},
		{"ErrWrongSubshop", withShop("myshop", "2"), made, ReasonShop},
		{"ErrShopIDCase", withShop("MyShop", "1"), made, ReasonShop},
		{"ErrNoShopConfigured", withShop("", ""), made, ReasonShop},
		{"ErrNoSubshopConfigured", withShop("myshop", ""), made, ReasonShop},
		{"default max age keeps an 89-day link", defaults, made.Add(89 * 24 * time.Hour), ""},
		{"ErrDefaultMaxAge", defaults, made.Add(DefaultMaxAge + time.Second), ReasonExpired},
		{"default skew allows 5 minutes", defaults, made.Add(-DefaultFutureSkew), ""},
		{"ErrDefaultFutureSkew", defaults, made.Add(-DefaultFutureSkew - time.Second), ReasonFuture},
		{"OK with the number in the product map", mapped(map[string]string{"1234567890": "ebook"}), made, ""},
		{"ErrProductNotMapped", mapped(map[string]string{"999": "ebook"}), made, ReasonProduct},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(vectorLink(), tt.cfg, tt.now)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if got := checkRefusal(t, err).Reason; got != tt.reason {
				t.Fatalf("reason = %s, want %s (%v)", got, tt.reason, err)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	cfg := shopConfig
	cfg.Products = map[string]string{"1234567890": "ebook-go"}
	got := Normalize(vectorLink(), cfg)
	want := vend.Event{
		Provider:  "websale",
		Kind:      vend.EventPayment,
		OrderRef:  "myshop/1/1000123",
		TxnID:     "myshop/1/1000123/1234567890",
		ProductID: "ebook-go",
		Key:       "link:myshop/1/1000123/1234567890",
		RawStatus: "link",
		Custom:    "K4711",
		Buyer:     vend.Buyer{Email: "kunde@example.de"},
		Items:     []vend.EventItem{{ProductID: "ebook-go", Quantity: 1}},
		Unpriced:  true,
		At:        vectorLink().Time,
		Language:  "de", // WEBSALE shops sell in German; links carry no language
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("event\n got %+v\nwant %+v", got, want)
	}
	cfg.Language = "en"
	if got := Normalize(vectorLink(), cfg); got.Language != "en" {
		t.Errorf("with websale.language en: language %q", got.Language)
	}
}

func TestNormalize_UnmappedProductPassesThrough(t *testing.T) {
	ev := Normalize(vectorLink(), shopConfig)
	if ev.ProductID != "1234567890" || ev.Items[0].ProductID != "1234567890" {
		t.Fatalf("ProductID %q, item %q", ev.ProductID, ev.Items[0].ProductID)
	}
}

// Order numbers are unique only per subshop, and a '/' inside a number must not
// make two different (order, product) pairs share a key.
func TestNormalize_KeysDoNotCollide(t *testing.T) {
	link := func(subshop, order, product string) Link {
		l := vectorLink()
		l.SubshopID, l.OrderID, l.ProductNumber = subshop, order, product
		return l
	}
	for _, pair := range [][2]Link{
		{link("1", "1000", "p"), link("2", "1000", "p")},
		{link("1", "1000/x", "y"), link("1", "1000", "x/y")},
		{link("1", "a%2Fb", "p"), link("1", "a/b", "p")},
	} {
		a, b := Normalize(pair[0], shopConfig), Normalize(pair[1], shopConfig)
		if a.Key == b.Key || a.TxnID == b.TxnID {
			t.Errorf("%q and %q share key %q", pair[0].OrderID+" "+pair[0].ProductNumber, pair[1].OrderID+" "+pair[1].ProductNumber, a.Key)
		}
	}
	// A changed product map must not make an old link a new grant.
	mapped := shopConfig
	mapped.Products = map[string]string{"1234567890": "renamed"}
	if a, b := Normalize(vectorLink(), shopConfig), Normalize(vectorLink(), mapped); a.Key != b.Key {
		t.Errorf("key changed with the product map: %q → %q", a.Key, b.Key)
	}
}

func TestDecoder_Format(t *testing.T) {
	d := mustDecoder(t, vectorPassword, vectors()[2].settings)
	hexC := readVector(t, "w-c")
	if _, err := d.Decode(strings.ToUpper(hexC)); err != nil {
		t.Fatalf("upper-case hex: %v", err)
	}
	for _, tt := range []struct{ name, in string }{
		{"ErrEmpty", ""},
		{"ErrOddLength", hexC[1:]},
		{"ErrNotHex", "zz" + hexC[2:]},
		{"ErrSpace", " " + hexC[1:]},
		{"ErrWholeLink", "https://x/?dldata=" + hexC},
		{"ErrTooLong", strings.Repeat("00", MaxDataLen/2+1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Decode(tt.in)
			if got := checkRefusal(t, err).Reason; got != ReasonFormat {
				t.Fatalf("reason = %s, want %s", got, ReasonFormat)
			}
		})
	}
}

func TestDecoder_Length(t *testing.T) {
	for _, tt := range []struct {
		mode Mode
		n    int
	}{
		{ModeCBCIVPrefix, 16}, {ModeCBCIVPrefix, 40}, {ModeCBCZeroIV, 17}, {ModeECB, 8}, {ModeGCMNonce12, 27},
	} {
		d := mustDecoder(t, vectorPassword, Settings{KDFSHA256, tt.mode, PaddingPKCS7})
		_, err := d.Decode(hex.EncodeToString(make([]byte, tt.n)))
		if got := checkRefusal(t, err).Reason; got != ReasonLength {
			t.Errorf("%s with %d bytes: reason %s, want %s", tt.mode, tt.n, got, ReasonLength)
		}
	}
}

// In auto mode the log names the candidate that got furthest, and how many were
// tried: 3 key derivations fit a 32-byte password (raw-padded is raw, hexkey
// needs hex), times 4 modes and 3 paddings.
func TestDecoder_AutoRefusalSaysHowManyTried(t *testing.T) {
	_, err := mustDecoder(t, wrongPassword, Settings{}).Decode(readVector(t, "w-a"))
	lerr := checkRefusal(t, err, wrongPassword)
	if lerr.Reason != ReasonGrammar || !strings.Contains(lerr.Detail, "none of 36 candidates") {
		t.Fatalf("refusal = %#v", lerr)
	}
}

func TestNewDecoder_Err(t *testing.T) {
	for _, tt := range []struct {
		name, password string
		s              Settings
	}{
		{"ErrNoPassword", "", Settings{}},
		{"ErrRawLength", "not-32-bytes", Settings{KDF: KDFRaw}},
		{"ErrHexKeyNotHex", strings.Repeat("x", 64), Settings{KDF: KDFHexKey}},
		{"ErrHexKeyLength", "00ff", Settings{KDF: KDFHexKey}},
		{"ErrUnknownKDF", vectorPassword, Settings{KDF: "md5"}},
		{"ErrUnknownMode", vectorPassword, Settings{Mode: "cfb"}},
		{"ErrUnknownPadding", vectorPassword, Settings{Padding: "iso10126"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDecoder(tt.password, tt.s)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Fatalf("error %q quotes the password", err)
			}
		})
	}
}

// A Decoder may end up in a log line; nothing of the key may come with it.
func TestDecoder_PrintsNoKey(t *testing.T) {
	for _, s := range []Settings{{KDF: KDFRaw}, {KDF: KDFHexKey}} {
		pw := vectorPassword
		if s.KDF == KDFHexKey {
			pw = hex.EncodeToString([]byte(vectorPassword))
		}
		d := mustDecoder(t, pw, s)
		out := fmt.Sprintf("%v %+v %#v %s %+v %#v", d, d, d, d, *d, *d)
		for _, secret := range []string{vectorPassword, hex.EncodeToString([]byte(vectorPassword)), "test-pass"} {
			if strings.Contains(out, secret) {
				t.Fatalf("%s: printed decoder %q contains key material", s, out)
			}
		}
	}
}

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings(" SHA256 ", "cbc-ivprefix", "PKCS7")
	if err != nil || s != (Settings{KDFSHA256, ModeCBCIVPrefix, PaddingPKCS7}) {
		t.Fatalf("ParseSettings = %v, %v", s, err)
	}
	if s.IsAuto() {
		t.Fatal("pinned settings report IsAuto")
	}
	s, err = ParseSettings("", "auto", "")
	if err != nil || s != (Settings{KDFAuto, ModeAuto, PaddingAuto}) || !s.IsAuto() {
		t.Fatalf("empty and auto: %v, %v", s, err)
	}
	if got := len(s.Candidates()); got != 5*4*3 {
		t.Fatalf("%d candidates, want 60", got)
	}
	for _, tt := range []struct{ kdf, mode, padding, want string }{
		{"sha-256", "", "", `key derivation "sha-256"`},
		{"", "cbc", "", `mode "cbc"`},
		{"", "", "pkcs5", `padding "pkcs5"`},
	} {
		_, err := ParseSettings(tt.kdf, tt.mode, tt.padding)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "auto") {
			t.Errorf("ParseSettings(%q, %q, %q) = %v, want an error naming %s and the choices", tt.kdf, tt.mode, tt.padding, err, tt.want)
		}
	}
	for _, k := range []string{"raw", "raw-padded", "sha256", "sha256hex32", "hexkey"} {
		if _, err := ParseKDF(k); err != nil {
			t.Errorf("ParseKDF(%q): %v", k, err)
		}
	}
}

func TestLinkURL(t *testing.T) {
	for _, tt := range []struct{ base, want string }{
		{"https://dl.example.com", "https://dl.example.com/?dldata=ab12"},
		{"https://dl.example.com/", "https://dl.example.com/?dldata=ab12"},
		{"https://dl.example.com/websale", "https://dl.example.com/websale?dldata=ab12"},
		{"http://localhost:8080/?x=1", "http://localhost:8080/?x=1&dldata=ab12"},
		{"/websale", "/websale?dldata=ab12"},
	} {
		got, err := LinkURL(tt.base, "ab12")
		if err != nil || got != tt.want {
			t.Errorf("LinkURL(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
	if _, err := LinkURL("http://[::1", "ab12"); err == nil {
		t.Error("bad base: no error")
	}
}

// The simulator's path: a link made by Encrypt and LinkURL is found by Detect.
func TestLinkURL_Detect(t *testing.T) {
	data, err := Encrypt(vectorLink().Plaintext(), Settings{KDFSHA256, ModeGCMNonce12, PaddingNone}, "seller secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := LinkURL("https://dl.example.com", data)
	if err != nil {
		t.Fatal(err)
	}
	matches, err := Detect("seller secret", u)
	if err != nil {
		t.Fatal(err)
	}
	// A none-padded link also decodes as zero-padded, and zero, the safe pin,
	// comes first.
	want := []string{"sha256/gcm-nonce12/zero", "sha256/gcm-nonce12/none"}
	if got := settingsOf(matches); !reflect.DeepEqual(got, want) {
		t.Fatalf("Detect(%s) = %v, want %v", u, got, want)
	}
}

func TestLink_StringLeavesOutEmail(t *testing.T) {
	if s := vectorLink().String(); strings.Contains(s, "kunde@") || !strings.Contains(s, "1000123") {
		t.Fatalf("String() = %q", s)
	}
}

// One Decoder serves every request; -race checks that it keeps no state.
func TestDecoder_Concurrent(t *testing.T) {
	d := mustDecoder(t, vectorPassword, Settings{})
	inputs := map[string]bool{ // dldata → decodes
		readVector(t, "w-a"):      true,
		readVector(t, "w-c"):      true,
		"zz":                      false,
		readVector(t, "w-d")[32:]: false,
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(inputs))
	for range 8 {
		for in, ok := range inputs {
			wg.Go(func() {
				l, err := d.Decode(in)
				switch {
				case ok && err != nil:
					errs <- err
				case ok && l.OrderID != "1000123":
					errs <- fmt.Errorf("decoded order %q", l.OrderID)
				case !ok && err == nil:
					errs <- fmt.Errorf("decoded %.20s…", in)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
