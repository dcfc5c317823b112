package stripe

import (
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
)

// MetadataProducts is the Checkout Session metadata key that names the vend
// products of a session (see the package documentation).
const MetadataProducts = "vend_products"

const (
	maxItems    = 100
	maxQuantity = 1_000_000
)

// sessionItems reads the products from metadata[vend_products], or else from
// client_reference_id. custom is client_reference_id when it is not the
// product.
func sessionItems(s session, cur string, total vend.Amount, cfg Config) (items []vend.EventItem, custom string, err error) {
	ref := strings.TrimSpace(s.ClientReferenceID)
	list, ok := s.Metadata[MetadataProducts]
	if !ok {
		if ref == "" {
			return nil, "", rejectf("Checkout Session %s names no product: set metadata[%s] or client_reference_id when creating it", s.ID, MetadataProducts)
		}
		return []vend.EventItem{{ProductID: cfg.Product(ref), Quantity: 1, Amount: total}}, "", nil
	}
	items, err = parseProducts(list, cur, total, cfg)
	if err != nil {
		return nil, "", err
	}
	return items, s.ClientReferenceID, nil
}

// parseProducts parses "id[:quantity[:amount]],…". A single entry without an
// amount gets the whole total; with several entries, each needs its amount.
func parseProducts(list, cur string, total vend.Amount, cfg Config) ([]vend.EventItem, error) {
	var items []vend.EventItem
	missing := 0
	for entry := range strings.SplitSeq(list, ",") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		if len(items) == maxItems {
			return nil, rejectf("metadata[%s] has more than %d entries", MetadataProducts, maxItems)
		}
		it, hasAmount, err := parseEntry(entry, cur, cfg)
		if err != nil {
			return nil, err
		}
		if !hasAmount {
			missing++
		}
		items = append(items, it)
	}
	switch {
	case len(items) == 0:
		return nil, rejectf("metadata[%s] names no product", MetadataProducts)
	case len(items) == 1 && missing == 1:
		items[0].Amount = total
	case missing > 0:
		return nil, rejectf("metadata[%s] names %d products but %d without an amount: write each as product_id:quantity:amount", MetadataProducts, len(items), missing)
	}
	return items, nil
}

// parseEntry parses one "id[:quantity[:amount]]" entry.
func parseEntry(entry, cur string, cfg Config) (it vend.EventItem, hasAmount bool, err error) {
	parts := strings.Split(entry, ":")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	if len(parts) > 3 || parts[0] == "" {
		return it, false, rejectf("metadata[%s] entry %q is not product_id[:quantity[:amount]]", MetadataProducts, entry)
	}
	it = vend.EventItem{ProductID: cfg.Product(parts[0]), Quantity: 1}
	if len(parts) > 1 {
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 1 || n > maxQuantity {
			return it, false, rejectf("metadata[%s] entry %q: quantity %q is not a whole number from 1 to %d", MetadataProducts, entry, parts[1], maxQuantity)
		}
		it.Quantity = n
	}
	if len(parts) > 2 {
		if it.Amount, err = parseMajor(parts[2], cur); err != nil {
			return it, false, rejectf("metadata[%s] entry %q: amount %v", MetadataProducts, entry, err)
		}
		hasAmount = true
	}
	return it, hasAmount, nil
}
