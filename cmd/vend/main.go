// Command vend sells digital downloads: it receives payment notifications, keeps a
// ledger, and serves the buyers' files. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ()))
}

// Main runs vend with args and returns the exit code, so tests can run it in process.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	app := &App{Stdout: stdout, Stderr: stderr, Environ: environ}
	root := newRootCmd(app)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "vend:", err)
		return 1
	}
	return 0
}

func newRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:           "vend",
		Version:       version(debug.ReadBuildInfo()),
		Short:         "Sell digital downloads: payment notifications in, honest downloads out",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}")
	root.PersistentFlags().StringVar(&app.ConfigPath, "config", "", "TOML config file (default: $VEND_CONFIG, else none)")
	root.AddCommand(
		newServeCmd(app),
		newDemoCmd(app),
		newProductsCmd(app),
		newOrdersCmd(app),
		newNotificationsCmd(app),
		newUserCmd(app),
		newTokenCmd(app),
		newSimulateCmd(app),
		newWebsaleCmd(app),
		newMailCmd(app),
		newBenchCmd(app),
		newGrantsCmd(app),
		newLicensesCmd(app),
		newWebhooksCmd(app),
		newDoctorCmd(app),
		newExportCmd(app),
		newStatsCmd(app),
		newReleaseCmd(app),
		newBackupCmd(app),
		newMigrateCmd(app),
		newConfigCmd(app),
	)
	return root
}
