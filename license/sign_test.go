package license

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend/internal/servicetest"
)

var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))

func testClaims(now time.Time) Claims {
	return Claims{Issuer: "https://shop.example.com", Key: "K7M2Q-9RTWX-4HZPC-8NDFA", IssuedAt: now.Unix(),
		Expires: now.Add(365 * 24 * time.Hour).Unix(), Product: "APP-1", Buyer: BuyerHash(" Alex@Example.com "),
		Issued: now.Format(time.RFC3339), UpdatesUntil: now.Add(30 * 24 * time.Hour).Format(time.RFC3339), OrderID: 42, ActivationLimit: 2}
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s := NewSigner(testKey)
	token, err := s.Sign(testClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(s.PublicKey(), token, now)
	if err != nil || *got != testClaims(now) {
		t.Fatalf("Verify: %+v, %v", got, err)
	}
	if got.Buyer != BuyerHash("alex@example.com") {
		t.Error("the buyer's hash depends on case or spaces")
	}
	other := NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize)))
	parts := strings.Split(token, ".")
	forged := parts[0] + "." + b64.EncodeToString([]byte(`{"sub":"FREE","product":"APP-1"}`)) + "." + parts[2]
	none := b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	for name, tt := range map[string]struct {
		pub   ed25519.PublicKey
		token string
		at    time.Time
	}{
		"another shop's key":     {other.PublicKey(), token, now},
		"changed claims":         {s.PublicKey(), forged, now},
		"alg none":               {s.PublicKey(), none, now},
		"expired":                {s.PublicKey(), token, now.Add(366 * 24 * time.Hour)},
		"not a token":            {s.PublicKey(), "hello", now},
		"too long":               {s.PublicKey(), strings.Repeat("a", 9000), now},
		"bad base64 in the sig":  {s.PublicKey(), parts[0] + "." + parts[1] + ".!!", now},
		"bad base64 in the body": {s.PublicKey(), parts[0] + ".!!." + parts[2], now},
	} {
		if c, err := Verify(tt.pub, tt.token, tt.at); err == nil {
			t.Errorf("%s: verified %+v", name, c)
		}
	}
}

func TestLoadKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "license-key.pem")
	a, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadKey(path)
	if err != nil || !a.Equal(b) {
		t.Fatalf("the key changed between loads: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v; want 0600", st.Mode(), err)
	}
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a damaged key file: %v", err)
	}
}

// TestVerify_Node: the JavaScript verifier in docs/examples, run by node,
// accepts a licence vend signed, with the same claims, and refuses one
// whose claims were changed. An independent check of the format: node's
// crypto and base64url, not Go's.
func TestVerify_Node(t *testing.T) {
	t.Parallel()
	node := servicetest.Node.Need(t)
	now := time.Now().UTC().Truncate(time.Second)
	s := NewSigner(testKey)
	token, err := s.Sign(testClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub := filepath.Join(dir, "shop.pem")
	if err := os.WriteFile(pub, s.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("..", "docs", "examples", "verify-license.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(token string) (string, error) {
		var out, errOut bytes.Buffer
		cmd := exec.Command(node, script, pub, token)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return strings.TrimSpace(out.String() + errOut.String()), err
	}
	out, err := run(token)
	if err != nil {
		t.Fatalf("node refused a genuine licence: %v: %s", err, out)
	}
	var got Claims
	if err := json.Unmarshal([]byte(out), &got); err != nil || got != testClaims(now) {
		t.Errorf("node read %s (%v), want %+v", out, err, testClaims(now))
	}
	parts := strings.Split(token, ".")
	c := testClaims(now)
	c.ActivationLimit = 1000
	changed, _ := json.Marshal(c)
	if out, err := run(parts[0] + "." + b64.EncodeToString(changed) + "." + parts[2]); err == nil || !strings.Contains(out, "signature") {
		t.Errorf("node accepted changed claims: %s", out)
	}
}

func FuzzVerify(f *testing.F) {
	s := NewSigner(testKey)
	token, _ := s.Sign(testClaims(time.Unix(1_800_000_000, 0)))
	f.Add(token)
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := Verify(s.PublicKey(), token, time.Unix(1_800_000_000, 0))
		if err == nil && c == nil {
			t.Error("no claims and no error")
		}
	})
}
