package license

import (
	"os"
	"testing"

	"github.com/vend-shop/vend/internal/servicetest"
)

func TestMain(m *testing.M) {
	os.Exit(servicetest.Main(m, servicetest.Node))
}
