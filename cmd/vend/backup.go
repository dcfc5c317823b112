package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend/config"
)

func newBackupCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the SQLite ledger to FILE while vend keeps running",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			if app.SQLite == nil {
				return fmt.Errorf("vend backup copies the SQLite ledger; this vend uses PostgreSQL (database): back it up with pg_dump")
			}
			if err := app.SQLite.Backup(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "ledger backed up to %s (files are in %s/files; the link secret is %s/secret, the licence key %s/license-key.pem)\n",
				args[0], app.Config.DataDir, app.Config.DataDir, app.Config.DataDir)
			return nil
		},
	}
}

func newMigrateCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Bring the ledger's schema up to date, then exit (vend serve does it at every start too)",
		Long: `Bring the ledger's schema up to date, then exit. vend serve migrates at every
start as well; on PostgreSQL, instances that start (or migrate) at once wait for
each other on an advisory lock, and the later ones find nothing to do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.create(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			where := "PostgreSQL"
			if app.SQLite != nil {
				where = "SQLite " + app.SQLite.Path
			}
			fmt.Fprintf(app.Stdout, "ledger schema up to date (%s)\n", where)
			return nil
		},
	}
}

func newConfigCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Configuration helpers"}
	cmd.AddCommand(&cobra.Command{
		Use:   "keys",
		Short: "Print every configuration key as a Markdown table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(app.Stdout, config.Markdown())
			return err
		},
	}, &cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration as vend serve does, then exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.loadConfig(); err != nil {
				return err
			}
			if err := app.checkServe(); err != nil {
				return fmt.Errorf("configuration:\n%w", err)
			}
			fmt.Fprintln(app.Stdout, "configuration ok")
			return nil
		},
	})
	return cmd
}
