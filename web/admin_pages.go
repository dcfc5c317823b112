package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

// adminRoutesPages adds the admin's pages over the ledger.
func (s *Server) adminPageRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin", s.requireAdmin(s.handleAdminDashboard))
	m.HandleFunc("GET /admin/orders", s.requireAdmin(s.handleAdminOrders))
	m.HandleFunc("GET /admin/orders/{id}", s.requireAdmin(s.handleAdminOrder))
	m.HandleFunc("POST /admin/grants/{id}/links", s.requireAdmin(s.handleAdminSendLinks))
	m.HandleFunc("POST /admin/grants/{id}/{action}", s.requireAdmin(s.handleAdminGrant))
	m.HandleFunc("GET /api/v1/orders", s.requireAdmin(s.handleAPIOrders))
	m.HandleFunc("GET /api/v1/orders/{id}", s.requireAdmin(s.handleAPIOrder))
	m.HandleFunc("POST /api/v1/grants/{id}/{action}", s.requireAdmin(s.handleAPIGrant))
	m.HandleFunc("GET /admin/notifications", s.requireAdmin(s.handleAdminNotifications))
	m.HandleFunc("GET /admin/notifications/{id}", s.requireAdmin(s.handleAdminNotification))
	m.HandleFunc("POST /admin/notifications/{id}/replay", s.requireAdmin(s.handleAdminReplay))
	s.adminExportRoutes(m)
}

// adminPage is what an admin page renders: the layout's fields and the page's.
type adminPage struct {
	adminView
	Data any
}

func (s *Server) renderAdmin(w http.ResponseWriter, r *http.Request, status int, page, title, nav string, data any) {
	s.render(w, r, status, page, adminPage{newAdminView(r, title, nav), data})
}

// ---- dashboard ----

type dashboardView struct {
	Periods       []periodStats
	Sales         chart
	Downloads     chart
	Notifications []*vend.Notification
}

// periodStats sums the daily stats of the last Days days.
type periodStats struct {
	Label                     string
	Sales, Refunds, Downloads int
	Revenue                   []money
}

type money struct {
	Amount   vend.Amount
	Currency string
}

const dashboardDays = 30

func (s *Server) handleAdminDashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.Now()
	var days []store.DayStats
	var notes []*vend.Notification
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if days, err = tx.DailyStats(ctx, now.AddDate(0, 0, -(dashboardDays-1)), now); err != nil {
			return err
		}
		notes, err = tx.FindNotifications(ctx, store.NotificationFilter{Limit: 20})
		return err
	})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v := dashboardView{Notifications: notes}
	for _, p := range []struct {
		label string
		days  int
	}{{"Today", 1}, {"7 days", 7}, {"30 days", 30}} {
		v.Periods = append(v.Periods, sumDays(p.label, days[max(len(days)-p.days, 0):]))
	}
	var dates []time.Time
	var sales, downloads []int
	for _, d := range days {
		dates, sales, downloads = append(dates, d.Day), append(sales, d.Sales), append(downloads, d.Downloads)
	}
	v.Sales = newChart("Sales per day", dates, sales)
	v.Downloads = newChart("Downloads per day", dates, downloads)
	s.renderAdmin(w, r, http.StatusOK, "admin-dashboard", "Dashboard", "dashboard", v)
}

func sumDays(label string, days []store.DayStats) periodStats {
	p := periodStats{Label: label}
	revenue := map[string]vend.Amount{}
	for _, d := range days {
		p.Sales, p.Refunds, p.Downloads = p.Sales+d.Sales, p.Refunds+d.Refunds, p.Downloads+d.Downloads
		for c, a := range d.Revenue {
			revenue[c] += a
		}
	}
	for c, a := range revenue {
		p.Revenue = append(p.Revenue, money{a, c})
	}
	sort.Slice(p.Revenue, func(i, j int) bool { return p.Revenue[i].Currency < p.Revenue[j].Currency })
	return p
}

// ---- orders ----

type ordersView struct {
	Query    url.Values
	Orders   []*vend.Order
	Next     string // the next page's URL, or ""
	Statuses []vend.OrderStatus
}

const ordersPerPage = 50

var allStatuses = []vend.OrderStatus{vend.OrderPaid, vend.OrderPending, vend.OrderRefunded, vend.OrderReversed,
	vend.OrderFailed, vend.OrderSuspended, vend.OrderEnded}

func (s *Server) handleAdminOrders(w http.ResponseWriter, r *http.Request) {
	q, err := report.ParseOrderQuery(r.URL.Query())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	q.Limit = ordersPerPage
	orders, err := s.searchOrders(r.Context(), q)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v := ordersView{Query: r.URL.Query(), Orders: orders, Statuses: allStatuses}
	if len(orders) == ordersPerPage {
		next := r.URL.Query()
		next.Set("before", strconv.FormatInt(orders[len(orders)-1].ID, 10))
		v.Next = "/admin/orders?" + next.Encode()
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-orders", "Orders", "orders", v)
}

func (s *Server) searchOrders(ctx context.Context, q store.OrderQuery) ([]*vend.Order, error) {
	var orders []*vend.Order
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		orders, err = tx.SearchOrders(ctx, q)
		return err
	})
	return orders, err
}

// ---- one order ----

// orderID reads the order id of the request's path.
func orderID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, vend.Errorf(vend.ENOTFOUND, "No such order.")
	}
	return id, nil
}

type orderView struct {
	Order         *vend.Order
	Items         []orderItemView
	Transactions  []*vend.Transaction
	Notifications []*vend.Notification
	Attempts      []*vend.Attempt
	Audit         []*vend.AuditEntry
}

type orderItemView struct {
	*vend.Item
	Grant *vend.Grant
	Page  string // the buyer's download page
}

func (s *Server) handleAdminOrder(w http.ResponseWriter, r *http.Request) {
	id, err := orderID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v, err := s.orderDetail(r.Context(), id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-order", "Order "+strconv.FormatInt(id, 10), "orders", v)
}

func (s *Server) orderDetail(ctx context.Context, id int64) (*orderView, error) {
	v := &orderView{}
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if v.Order, err = tx.FindOrderByID(ctx, id); err != nil {
			return err
		}
		items, err := tx.FindItems(ctx, id)
		if err != nil {
			return err
		}
		grants, err := tx.FindGrantsByOrder(ctx, id)
		if err != nil {
			return err
		}
		for _, it := range items {
			iv := orderItemView{Item: it}
			for _, g := range grants {
				if g.ItemID == it.ID {
					iv.Grant, iv.Page = g, s.BaseURL+s.pageURL(g)
				}
			}
			v.Items = append(v.Items, iv)
		}
		if v.Transactions, err = tx.FindTransactionsByOrder(ctx, id); err != nil {
			return err
		}
		if v.Notifications, err = tx.FindNotifications(ctx, store.NotificationFilter{OrderID: &id, Limit: 100}); err != nil {
			return err
		}
		if v.Attempts, err = tx.FindAttempts(ctx, store.AttemptFilter{OrderID: &id, Limit: 500}); err != nil {
			return err
		}
		v.Audit, err = tx.FindAuditEntries(ctx, store.AuditFilter{Target: vend.OrderTarget(id), Limit: 100})
		return err
	})
	return v, err
}
