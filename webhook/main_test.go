package webhook_test

import (
	"os"
	"testing"

	"github.com/vend-shop/vend/internal/servicetest"
)

// TestMain says, even without -v, which suites were skipped for want of a
// service, and how to enable them.
func TestMain(m *testing.M) {
	os.Exit(servicetest.Main(m, servicetest.Postgres, servicetest.Node))
}
