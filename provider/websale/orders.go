package websale

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vend-shop/vend"
)

// Imported is what ImportOrders made of an order export.
type Imported struct {
	Items   []*vend.ImportedItem // one per (order, product), in the export's order
	Orders  int                  // distinct orders among Items
	Skipped int                  // rows of product numbers not in a non-empty Products map
}

// ImportOrders reads the seller's order export: CSV in UTF-8 (a byte order
// mark is skipped), separated by commas, or by semicolons when the header has
// one and no comma (spreadsheets in German locales write them). The header
// names the columns "order" (the shop's order number), "product" (WEBSALE's
// product number) and optionally "email" (the buyer's address), in any order
// and any case; other columns are ignored. One row per product of an order.
//
// The items get the OrderRef and TxnID that Normalize gives the links of the
// configured shop and subshop, which is how a link finds its item. A row of a
// product number the Products map lacks, while it has entries, is skipped:
// shop orders hold goods vend does not deliver. A malformed row fails the
// whole import, naming its line.
func ImportOrders(r io.Reader, cfg Config) (*Imported, error) {
	shop, subshop := strings.TrimSpace(cfg.ShopID), strings.TrimSpace(cfg.SubshopID)
	if shop == "" || subshop == "" {
		return nil, errors.New("websale: import: websale.shop_id and websale.subshop_id must both be set")
	}
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\uFEFF")) {
		br.Discard(3)
	}
	first, _ := br.Peek(4096)
	header, _, _ := bytes.Cut(first, []byte("\n"))
	cr := csv.NewReader(br)
	if bytes.ContainsRune(header, ';') && !bytes.ContainsRune(header, ',') {
		cr.Comma = ';'
	}
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("websale: import: header: %w", err)
	}
	col := map[string]int{"order": -1, "product": -1, "email": -1}
	for i, name := range head {
		if _, ok := col[strings.ToLower(strings.TrimSpace(name))]; ok {
			col[strings.ToLower(strings.TrimSpace(name))] = i
		}
	}
	if col["order"] < 0 || col["product"] < 0 {
		return nil, fmt.Errorf("websale: import: the header %q needs the columns order and product (and may have email)", strings.Join(head, string(cr.Comma)))
	}
	out := &Imported{}
	orders, seen := map[string]bool{}, map[string]bool{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("websale: import: %w", err)
		}
		line, _ := cr.FieldPos(0)
		cell := func(name string) string {
			if i := col[name]; i >= 0 {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		l := Link{ShopID: shop, SubshopID: subshop, OrderID: cell("order"), ProductNumber: cell("product"), Email: cell("email")}
		switch {
		case l.OrderID == "" || l.ProductNumber == "":
			return nil, fmt.Errorf("websale: import: line %d: order and product must not be empty", line)
		case strings.ContainsRune(l.OrderID+l.ProductNumber, '<'):
			// A link's values never hold '<' (the grammar ends a tag there).
			return nil, fmt.Errorf("websale: import: line %d: order %q or product %q holds '<', which no link can", line, l.OrderID, l.ProductNumber)
		case l.Email != "" && !isEmail(l.Email):
			return nil, fmt.Errorf("websale: import: line %d: email %q is not an e-mail address", line, l.Email)
		}
		if _, ok := cfg.Products[l.ProductNumber]; len(cfg.Products) > 0 && !ok {
			out.Skipped++
			continue
		}
		orderRef, txnID := refs(l)
		if seen[txnID] { // a product bought twice is one item, as its links are
			continue
		}
		seen[txnID], orders[orderRef] = true, true
		out.Items = append(out.Items, &vend.ImportedItem{Provider: Provider, OrderRef: orderRef, TxnID: txnID, Email: l.Email})
	}
	out.Orders = len(orders)
	return out, nil
}
