package paypal

import "github.com/vend-shop/vend"

// ButtonFields are the fields of a PayPal Buy Now form for one product.
type ButtonFields struct {
	Action, Business, ItemNumber, ItemName, Amount, Currency, NotifyURL, Return, CancelReturn string
}

// Button returns the Buy Now form fields of a product. notify_url and return point
// at this vend, so the IPN and the return page are wired right.
func Button(p *vend.Product, business, baseURL string) ButtonFields {
	return ButtonFields{
		Action: "https://www.paypal.com/cgi-bin/webscr", Business: business, ItemNumber: p.ID, ItemName: p.Name,
		Amount: p.Price.String(), Currency: p.Currency, NotifyURL: baseURL + "/ipn/paypal",
		Return: baseURL + "/return", CancelReturn: baseURL + "/",
	}
}
