package license

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/postgres"
	"github.com/vend-shop/vend/store/postgres/pgtest"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
	"github.com/vend-shop/vend/webhook/webhooktest"
)

var ctx = context.Background()

// sold puts a paid order of one licensed unit in db and returns its key.
func sold(tb testing.TB, db store.DB, limit int) string {
	tb.Helper()
	const key = "K7M2Q-9RTWX-4HZPC-8NDFA"
	err := db.Update(ctx, func(tx store.Tx) error {
		p := &vend.Product{ID: "APP", Name: "App", Price: 4900, Currency: "USD", DownloadLimit: 5,
			License: vend.LicensePolicy{Mode: vend.LicenseGenerated, ActivationLimit: limit}}
		if err := tx.SaveProduct(ctx, p); err != nil {
			return err
		}
		o := &vend.Order{Provider: "paypal", Ref: "T1", Buyer: vend.Buyer{Email: "buyer@example.com"}, Currency: "USD", Total: 4900, Status: vend.OrderPaid}
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		it := &vend.Item{OrderID: o.ID, ProductID: "APP", Name: "App", Quantity: 1, Amount: 4900, Status: vend.OrderPaid}
		if err := tx.CreateItem(ctx, it); err != nil {
			return err
		}
		g := &vend.Grant{ItemID: it.ID, OrderID: o.ID, ProductID: "APP", PublicID: "pub", State: vend.GrantActive, DownloadLimit: 5}
		if err := tx.CreateGrant(ctx, g); err != nil {
			return err
		}
		return tx.CreateLicense(ctx, &vend.License{GrantID: g.ID, OrderID: o.ID, ItemID: it.ID, ProductID: "APP", Key: key,
			ActivationLimit: limit}, vend.KeyHash(key))
	})
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func onEveryStore(t *testing.T, test func(t *testing.T, db store.DB)) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); test(t, sqlitetest.MustOpenDB(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); test(t, pgtest.MustOpenDB(t)) })
}

func TestService_Lifecycle(t *testing.T) {
	onEveryStore(t, func(t *testing.T, db store.DB) {
		key := sold(t, db, 1)
		hook := &vend.WebhookEndpoint{URL: "https://crm.example/", Events: vend.WebhookEvents(), Secret: "whsec_x"}
		if err := db.Update(ctx, func(tx store.Tx) error { return tx.CreateEndpoint(ctx, hook) }); err != nil {
			t.Fatal(err)
		}
		s := &Service{DB: db, Signer: NewSigner(testKey), Issuer: "https://shop.test"}
		a, err := s.Activate(ctx, key, "laptop", "192.0.2.1")
		if err != nil || a.Status != vend.LicenseActive || a.Instance == nil || a.Signed == "" || a.License.Activations != 1 {
			t.Fatalf("activate: %+v, %v", a, err)
		}
		if _, err := s.Activate(ctx, key, "desktop", "192.0.2.1"); !errors.Is(err, errLimit) {
			t.Errorf("past the limit: %v", err)
		}
		if v, err := s.Validate(ctx, key, a.Instance.InstanceID); err != nil || v.Instance == nil || v.Instance.IP != "192.0.2.1" {
			t.Errorf("validate with the instance: %+v, %v", v, err)
		}
		if d, err := s.Deactivate(ctx, key, a.Instance.InstanceID); err != nil || d.Status != vend.LicenseInactive {
			t.Errorf("deactivate: %+v, %v", d, err)
		}
		if _, err := s.Validate(ctx, "ZZZZZ", ""); !errors.Is(err, errKeyNotFound) {
			t.Errorf("an unknown key: %v", err)
		}
		// The seller's webhooks heard of the activation and the
		// deactivation, and of nothing refused.
		var ds []*vend.WebhookDelivery
		if err := db.View(ctx, func(tx store.Tx) error {
			var err error
			ds, err = tx.FindDeliveries(ctx, store.DeliveryFilter{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			webhooktest.CheckWebhookPayload(t, d.Payload)
		}
		if len(ds) != 2 || ds[1].Event != vend.HookLicenseActivated || ds[0].Event != vend.HookLicenseDeactivated ||
			!strings.Contains(string(ds[1].Payload), `"name":"laptop"`) || !strings.Contains(string(ds[1].Payload), `"status":"active"`) {
			t.Errorf("deliveries %d: %+v", len(ds), ds)
		}
	})
}

// TestService_ActivationLimitAcrossInstances: two vend instances (two
// Services, each with its own connection pool) on one PostgreSQL; 64
// activations of one key with a limit of 5 arrive at once, split between
// them: exactly 5 succeed, and the store counts 5.
func TestService_ActivationLimitAcrossInstances(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	var dbs [2]*postgres.DB
	for i := range dbs {
		dbs[i] = postgres.NewDB(url)
		if err := dbs[i].Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	const limit = 5
	key := sold(t, dbs[0], limit)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 64 {
		s := &Service{DB: dbs[i%2]}
		wg.Go(func() {
			<-start
			_, err := s.Activate(ctx, key, "instance", "192.0.2.1")
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, errLimit):
				refused.Add(1)
			default:
				t.Errorf("activation: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != limit || refused.Load() != 64-limit {
		t.Errorf("%d activations succeeded and %d were refused, want %d and %d", ok.Load(), refused.Load(), limit, 64-limit)
	}
	a, err := (&Service{DB: dbs[1]}).Validate(ctx, key, "")
	if err != nil || a.License.Activations != limit {
		t.Errorf("the store counts %+v activations, %v; want %d", a.License, err, limit)
	}
}

func TestService_Expired(t *testing.T) {
	t.Parallel()
	db := sqlitetest.MustOpenDB(t)
	key := sold(t, db, vend.Unlimited)
	err := db.Update(ctx, func(tx store.Tx) error {
		l, err := tx.FindLicenseByHash(ctx, vend.KeyHash(key))
		if err != nil {
			return err
		}
		l.ExpiresAt = time.Now().Add(-time.Minute)
		return tx.UpdateLicense(ctx, l)
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{DB: db, Signer: NewSigner(testKey)}
	if _, err := s.Activate(ctx, key, "laptop", ""); !errors.Is(err, errExpired) {
		t.Errorf("activating an expired key: %v", err)
	}
	if a, err := s.Validate(ctx, key, ""); err != nil || a.Status != vend.LicenseExpired || a.Signed != "" {
		t.Errorf("validating an expired key: %+v, %v", a, err)
	}
}
