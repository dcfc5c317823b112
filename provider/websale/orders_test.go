package websale

import (
	"strings"
	"testing"
)

func TestImportOrders(t *testing.T) {
	t.Parallel()
	mapped := shopConfig
	mapped.Products = map[string]string{"1234567890": "EBOOK-001"}
	tests := []struct {
		name    string
		cfg     Config
		csv     string
		txnIDs  []string // of the items, in order
		emails  []string
		orders  int
		skipped int
		err     string // in the error; "" for none
	}{
		{name: "OK", cfg: shopConfig, csv: "order,product,email\n1000123,1234567890,kunde@example.de\n1000123,2000000002,kunde@example.de\n1000124,1234567890,\n",
			txnIDs: []string{"myshop/1/1000123/1234567890", "myshop/1/1000123/2000000002", "myshop/1/1000124/1234567890"},
			emails: []string{"kunde@example.de", "kunde@example.de", ""}, orders: 2},
		{name: "columns in any order and case, others ignored, spaces trimmed", cfg: shopConfig,
			csv:    "Total, EMAIL ,Product,Order\n19.95, kunde@example.de , 1234567890 , 1000123\n",
			txnIDs: []string{"myshop/1/1000123/1234567890"}, emails: []string{"kunde@example.de"}, orders: 1},
		{name: "semicolons and a byte order mark, as spreadsheets in German locales write", cfg: shopConfig,
			csv:    "\uFEFFOrder;Product;Email\n1000123;1234567890;kunde@example.de\n",
			txnIDs: []string{"myshop/1/1000123/1234567890"}, emails: []string{"kunde@example.de"}, orders: 1},
		{name: "without an email column", cfg: shopConfig, csv: "order,product\r\n1000123,1234567890\r\n",
			txnIDs: []string{"myshop/1/1000123/1234567890"}, emails: []string{""}, orders: 1},
		{name: "products the map lacks are skipped", cfg: mapped, csv: "order,product\n1000123,1234567890\n1000123,PAPERBACK\n",
			txnIDs: []string{"myshop/1/1000123/1234567890"}, emails: []string{""}, orders: 1, skipped: 1},
		{name: "a product bought twice is one item", cfg: shopConfig, csv: "order,product\n1000123,1234567890\n1000123,1234567890\n",
			txnIDs: []string{"myshop/1/1000123/1234567890"}, emails: []string{""}, orders: 1},
		{name: "an order number with '/' gets the escaped refs of its links", cfg: shopConfig, csv: "order,product\nA/1,1234567890\n",
			txnIDs: []string{"myshop/1/A%2F1/1234567890"}, emails: []string{""}, orders: 1},
		{name: "a header only is nothing", cfg: shopConfig, csv: "order,product,email\n"},
		{name: "ErrNoShop", cfg: Config{}, csv: "order,product\n1,2\n", err: "websale.shop_id"},
		{name: "ErrEmpty", cfg: shopConfig, csv: "", err: "header"},
		{name: "ErrNoProductColumn", cfg: shopConfig, csv: "order,email\n1,a@example.com\n", err: "needs the columns order and product"},
		{name: "ErrEmptyOrder", cfg: shopConfig, csv: "order,product\n1000123,1234567890\n,1234567890\n", err: "line 3: order and product"},
		{name: "ErrNotAnEmail", cfg: shopConfig, csv: "order,product,email\n1000123,1234567890,kunde\n", err: `line 2: email "kunde"`},
		{name: "ErrLessThan", cfg: shopConfig, csv: "order,product\n1000<123,1234567890\n", err: "line 2"},
		{name: "ErrFieldCount", cfg: shopConfig, csv: "order,product\n1000123\n", err: "wrong number of fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			im, err := ImportOrders(strings.NewReader(tt.csv), tt.cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(im.Items) != len(tt.txnIDs) || im.Orders != tt.orders || im.Skipped != tt.skipped {
				t.Fatalf("%d items of %d orders, %d skipped; want %d of %d, %d", len(im.Items), im.Orders, im.Skipped, len(tt.txnIDs), tt.orders, tt.skipped)
			}
			for i, it := range im.Items {
				if it.Provider != Provider || it.TxnID != tt.txnIDs[i] || !strings.HasPrefix(it.TxnID, it.OrderRef+"/") || it.Email != tt.emails[i] {
					t.Errorf("item %d: %+v, want txn id %s in its order, email %q", i, it, tt.txnIDs[i], tt.emails[i])
				}
			}
		})
	}
}

// An imported item is found by the very refs Normalize gives the item's links.
func TestImportOrders_MatchesNormalize(t *testing.T) {
	t.Parallel()
	l := vectorLink()
	l.OrderID = "A/B%C"
	im, err := ImportOrders(strings.NewReader("order,product\n"+l.OrderID+","+l.ProductNumber+"\n"), shopConfig)
	if err != nil {
		t.Fatal(err)
	}
	ev := Normalize(l, shopConfig)
	if len(im.Items) != 1 || im.Items[0].TxnID != ev.TxnID || im.Items[0].OrderRef != ev.OrderRef {
		t.Errorf("imported %+v, the link's event has order %s txn %s", im.Items[0], ev.OrderRef, ev.TxnID)
	}
}
