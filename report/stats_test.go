package report

import (
	"slices"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func TestSortProducts(t *testing.T) {
	t.Parallel()
	counter := func() []store.ProductDownloads {
		return []store.ProductDownloads{
			{ProductID: "C", Completed: 1, Charged: 5, Attempts: 9},
			{ProductID: "A", Completed: 3, Charged: 1, Attempts: 9},
			{ProductID: "B", Completed: 3, Charged: 2, Attempts: 4},
		}
	}
	for _, tt := range []struct{ by, want string }{
		{"product", "ABC"},
		{"completed", "ABC"}, // A and B tie: by product id
		{"charged", "CBA"},
		{"attempts", "ACB"},
	} {
		ps := counter()
		if err := SortProducts(ps, tt.by); err != nil {
			t.Fatalf("%s: %v", tt.by, err)
		}
		var got string
		for _, p := range ps {
			got += p.ProductID
		}
		if got != tt.want {
			t.Errorf("by %s: %s, want %s", tt.by, got, tt.want)
		}
	}
	ps := counter()
	if err := SortProducts(ps, "price"); vend.ErrorCode(err) != vend.EINVALID || !slices.Equal(ps, counter()) {
		t.Errorf("an unknown order: %v, %v", err, ps)
	}
}
