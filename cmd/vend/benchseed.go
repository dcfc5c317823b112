package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/postgres"
	"github.com/vend-shop/vend/store/sqlite"
)

func newBenchCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Tools for measuring vend"}
	cmd.AddCommand(newBenchSeedCmd(app))
	return cmd
}

// seedOptions shape the ledger `vend bench seed` makes.
type seedOptions struct {
	Orders, Attempts, Products, Buyers, Days int
	Seed                                     uint64
	Bulk                                     bool
}

func newBenchSeedCmd(app *App) *cobra.Command {
	o := seedOptions{}
	cmd := &cobra.Command{
		Use:   "seed [--orders 1000000] [--attempts 10000000]",
		Short: "Fill the ledger with a large, realistic shop, to measure the admin against",
		Long: `Fill the configured ledger with generated products, orders (each with its
payment, item and grant; some refunded), buyers and download attempts, spread
over the past --days. For benchmarks only: it writes into whatever database the
configuration names, so point it at a fresh data directory.

By default every row goes through the store's own methods, as vend writes them:
about 1,500 orders a second on SQLite, slower as the ledger grows. --bulk (SQLite,
empty ledger) writes the same shop with set-based SQL instead, and adds a download
session per counted attempt: a million orders and ten million attempts in minutes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.create(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			start := time.Now()
			run := seed
			if o.Bulk {
				run = seedBulk
			}
			if err := run(cmd.Context(), app, o); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "seeded %d orders and %d attempts in %s\n", o.Orders, o.Attempts, time.Since(start).Round(time.Second))
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Orders, "orders", 1_000_000, "orders to make")
	f.IntVar(&o.Attempts, "attempts", 10_000_000, "download attempts to make, spread over the grants")
	f.IntVar(&o.Products, "products", 20, "products in the catalog")
	f.IntVar(&o.Buyers, "buyers", 300_000, "distinct buyers")
	f.IntVar(&o.Days, "days", 365, "the orders span this many days up to now")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed makes the same shop")
	f.BoolVar(&o.Bulk, "bulk", false, "write with set-based SQL into an empty SQLite ledger: much faster at a million orders")
	return cmd
}

// seedBatch orders are written per transaction.
const seedBatch = 2000

func seed(ctx context.Context, app *App, o seedOptions) error {
	if o.Orders < 1 || o.Products < 1 || o.Buyers < 1 || o.Days < 1 {
		return fmt.Errorf("--orders, --products, --buyers and --days must be positive")
	}
	products, err := seedProducts(ctx, app, o.Products)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	span := time.Duration(o.Days) * 24 * time.Hour
	begin := time.Now().Add(-span)
	setClock := clockOf(app)
	var grants []int64
	var grantFiles []int64
	for done := 0; done < o.Orders; done += seedBatch {
		n := min(seedBatch, o.Orders-done)
		at := begin.Add(time.Duration(float64(span) * float64(done) / float64(o.Orders)))
		setClock(at)
		// Update may run its function again (PostgreSQL, after a conflict): the
		// batch's grants are kept only once it committed.
		var batchGrants, batchFiles []int64
		err := app.DB.Update(ctx, func(tx store.Tx) error {
			batchGrants, batchFiles = batchGrants[:0], batchFiles[:0]
			for i := range n {
				g, file, err := seedOrder(ctx, tx, r, products, done+i, o.Buyers)
				if err != nil {
					return err
				}
				batchGrants, batchFiles = append(batchGrants, g), append(batchFiles, file)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed orders: %w", err)
		}
		grants, grantFiles = append(grants, batchGrants...), append(grantFiles, batchFiles...)
		if (done/seedBatch)%50 == 0 {
			fmt.Fprintf(app.Stdout, "%d orders\n", done+n)
		}
	}
	setClock(time.Time{})
	return seedAttempts(ctx, app, r, grants, grantFiles, o.Attempts, begin, span)
}

// clockOf returns a function that sets the store's clock (zero: the real one),
// so seeded rows are spread over time.
func clockOf(app *App) func(time.Time) {
	set := func(now func() time.Time) {
		switch db := app.DB.(type) {
		case *sqlite.DB:
			db.Now = now
		case *postgres.DB:
			db.Now = now
		}
	}
	return func(t time.Time) {
		if t.IsZero() {
			set(time.Now)
			return
		}
		set(func() time.Time { return t })
	}
}

func seedProducts(ctx context.Context, app *App, n int) ([]*vend.Product, error) {
	products := make([]*vend.Product, n)
	for i := range products {
		content := bytes.Repeat([]byte(fmt.Sprintf("seed product %d\n", i)), 64)
		info, err := app.Blobs.Put(ctx, bytes.NewReader(content))
		if err != nil {
			return nil, err
		}
		p := &vend.Product{ID: fmt.Sprintf("SEED-%03d", i), Name: fmt.Sprintf("Seed product %d", i), Price: vend.Amount(500 + 100*i),
			Currency: "EUR", DownloadLimit: 5, Lifetime: vend.Forever}
		err = app.DB.Update(ctx, func(tx store.Tx) error {
			if err := tx.SaveProduct(ctx, p); err != nil {
				return err
			}
			p.Files = []*vend.File{{Name: p.ID + ".zip", Key: info.Key, Size: info.Size, SHA256: info.SHA256}}
			return tx.SetFiles(ctx, p.ID, p.Files)
		})
		if err != nil {
			return nil, err
		}
		products[i] = p
	}
	return products, nil
}

// seedProviders are the providers seeded orders come from: every registered
// one, and most often the one buyers return from (PayPal), three times over.
var seedProviders = func() []string {
	var names []string
	for _, info := range providerInfos() {
		names = append(names, info.Name)
		if info.Returns {
			names = append(names, info.Name, info.Name)
		}
	}
	return names
}()

var seedNames = []string{"Jörg Müller", "Anna Schmidt", "Kurt Weber", "Maria Fischer", "Lea Wagner", "Tom Becker", "Sara Hoffmann", "Paul Schulz"}

// seedOrder writes one paid order (one in 50 refunded) with its payment, item
// and grant, and returns the grant and its file.
func seedOrder(ctx context.Context, tx store.Tx, r *rand.Rand, products []*vend.Product, i, buyers int) (int64, int64, error) {
	p := products[r.IntN(len(products))]
	buyer := r.IntN(buyers)
	provider := seedProviders[r.IntN(len(seedProviders))]
	ref := fmt.Sprintf("SEED%013d", i)
	refunded := r.IntN(50) == 0
	status := vend.OrderPaid
	if refunded {
		status = vend.OrderRefunded
	}
	o := &vend.Order{Provider: provider, Ref: ref, Buyer: vend.Buyer{Email: fmt.Sprintf("buyer%d@example.com", buyer),
		Name: seedNames[buyer%len(seedNames)]}, Currency: p.Currency, Total: p.Price, Status: status}
	if err := tx.CreateOrder(ctx, o); err != nil {
		return 0, 0, err
	}
	it := &vend.Item{OrderID: o.ID, ProductID: p.ID, Name: p.Name, Quantity: 1, Amount: p.Price, Status: status}
	if err := tx.CreateItem(ctx, it); err != nil {
		return 0, 0, err
	}
	txns := []*vend.Transaction{{Kind: vend.TxnPayment, TxnID: ref, Amount: p.Price}}
	if refunded {
		txns = append(txns, &vend.Transaction{Kind: vend.TxnRefund, TxnID: ref + "R", ParentTxnID: ref, Amount: -p.Price, Full: true})
	}
	for _, t := range txns {
		t.OrderID, t.Provider, t.OrderRef, t.Status, t.Currency, t.RawStatus = o.ID, provider, ref, vend.TxnCompleted, p.Currency, "seed"
		if err := tx.CreateTransaction(ctx, t); err != nil {
			return 0, 0, err
		}
	}
	g := &vend.Grant{ItemID: it.ID, OrderID: o.ID, ProductID: p.ID, PublicID: fmt.Sprintf("seed%012d", i), State: vend.GrantActive,
		DownloadLimit: p.DownloadLimit}
	if refunded {
		g.State, g.Reason = vend.GrantRevoked, string(vend.OrderRefunded)
	}
	if err := tx.CreateGrant(ctx, g); err != nil {
		return 0, 0, err
	}
	return g.ID, p.Files[0].ID, nil
}

var seedAgents = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0", "curl/8.5.0", "aria2/1.37.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Safari/604.1"}

// seedAttempts spreads attempts over the grants, in batches.
func seedAttempts(ctx context.Context, app *App, r *rand.Rand, grants, files []int64, n int, begin time.Time, span time.Duration) error {
	const batch = 20000
	for done := 0; done < n; done += batch {
		as := make([]*vend.Attempt, min(batch, n-done))
		for i := range as {
			k := r.IntN(len(grants))
			as[i] = &vend.Attempt{GrantID: grants[k], FileID: files[k], At: begin.Add(time.Duration(r.Int64N(int64(span)))),
				IP: fmt.Sprintf("198.51.%d.%d", r.IntN(256), r.IntN(256)), UserAgent: seedAgents[r.IntN(len(seedAgents))],
				Method: "GET", Status: 200, BytesSent: 1024, Counted: r.IntN(4) == 0}
		}
		if err := app.DB.Update(ctx, func(tx store.Tx) error { return tx.CreateAttempts(ctx, as) }); err != nil {
			return fmt.Errorf("seed attempts: %w", err)
		}
		if (done/batch)%50 == 0 {
			fmt.Fprintf(app.Stdout, "%d attempts\n", done+len(as))
		}
	}
	return nil
}
