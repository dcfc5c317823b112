package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/account"
	"github.com/vend-shop/vend/store"
)

// cliActor is the audit trail's name for changes made on the command line.
const cliActor = "cli"

func newUserCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Administrators of the web admin"}
	cmd.AddCommand(newUserAddCmd(app), newUserPasswdCmd(app), newUserListCmd(app), newUserDeleteCmd(app))
	return cmd
}

func newUserAddCmd(app *App) *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Add an administrator (asks for the password, or reads it with --password-stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			// A bad name fails before the password is asked for.
			if err := vend.ValidateUserName(name); err != nil {
				return cliError(err)
			}
			pw, err := newPassword(cmd, app, fromStdin)
			if err != nil {
				return err
			}
			u, err := account.NewUser(name, pw)
			if err != nil {
				return cliError(err)
			}
			if err := app.create(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			ctx := cmd.Context()
			err = app.DB.Update(ctx, func(tx store.Tx) error { return account.CreateUser(ctx, tx, u, cliActor) })
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(app.Stdout, "User %s added. Sign in at %s/admin/login\n", u.Name, app.Config.BaseURL)
			return nil
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserPasswdCmd(app *App) *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a new password for an administrator and end all their sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			ctx := cmd.Context()
			// Ask for the password only for a user who exists.
			if err := app.DB.View(ctx, func(tx store.Tx) error {
				_, err := tx.FindUserByName(ctx, args[0])
				return err
			}); err != nil {
				return cliError(err)
			}
			pw, err := newPassword(cmd, app, fromStdin)
			if err != nil {
				return err
			}
			if err := vend.ValidatePassword(pw); err != nil {
				return cliError(err)
			}
			hash, err := vend.HashPassword(pw)
			if err != nil {
				return err
			}
			var name string
			err = app.DB.Update(ctx, func(tx store.Tx) error {
				u, err := tx.FindUserByName(ctx, args[0])
				if err != nil {
					return err
				}
				name = u.Name
				u.PasswordHash = hash
				if err := tx.UpdateUser(ctx, u); err != nil {
					return err
				}
				// Whoever knew the old password may be signed in: sign everyone out.
				if err := tx.DeleteUserSessions(ctx, u.ID); err != nil {
					return err
				}
				return store.RecordAudit(ctx, tx, cliActor, "user.passwd", vend.UserTarget(u.ID), nil,
					map[string]any{"name": u.Name, "password": "changed", "sessions": "ended"})
			})
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(app.Stdout, "Password of %s changed; all their sessions have ended.\n", name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserDeleteCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an administrator, ending their sessions and API tokens (audited; never the last one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			ctx := cmd.Context()
			var u *vend.User
			err := app.DB.Update(ctx, func(tx store.Tx) error {
				var err error
				u, err = account.DeleteUser(ctx, tx, args[0], cliActor)
				return err
			})
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(app.Stdout, "User %s deleted; their sessions and API tokens have ended.\n", u.Name)
			return nil
		},
	}
}

func newUserListCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the administrators",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			var users []*vend.User
			err := app.DB.View(cmd.Context(), func(tx store.Tx) error {
				var err error
				users, err = tx.FindUsers(cmd.Context())
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				if users == nil {
					users = []*vend.User{}
				}
				return printJSON(app.Stdout, users)
			}
			tw := tabwriter.NewWriter(plainWriter{app.Stdout}, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST LOGIN")
			for _, u := range users {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", u.ID, u.Name, u.CreatedAt.Format("2006-01-02 15:04"), formatTime(u.LastLoginAt))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newTokenCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "API tokens for /api/v1"}
	cmd.AddCommand(newTokenCreateCmd(app), newTokenListCmd(app), newTokenDeleteCmd(app))
	return cmd
}

// createdToken is what `vend token create --json` prints: the only time the
// token itself is shown.
type createdToken struct {
	*vend.APIToken
	Token string `json:"token"`
}

func newTokenCreateCmd(app *App) *cobra.Command {
	var name, userName string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create --name NAME [--user NAME]",
		Short: "Make an API token and print it, once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateTokenName(name); err != nil {
				return err
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			ctx := cmd.Context()
			token, hash := account.NewAPIToken()
			t := &vend.APIToken{Name: name, Hash: hash}
			var owner string
			err := app.DB.Update(ctx, func(tx store.Tx) error {
				u, err := tokenOwner(ctx, tx, userName)
				if err != nil {
					return err
				}
				t.UserID, owner = u.ID, u.Name
				if err := tx.CreateAPIToken(ctx, t); err != nil {
					return err
				}
				return store.RecordAudit(ctx, tx, cliActor, "token.create", vend.TokenTarget(t.ID), nil, t)
			})
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, createdToken{APIToken: t, Token: token})
			}
			fmt.Fprintf(app.Stdout, "Token %d %q for %s. It is shown only now; keep it somewhere safe:\n\n  %s\n\n"+
				"Send it as the header  Authorization: Bearer %s\n", t.ID, t.Name, owner, token, token)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "what the token is for (shown in the audit trail as token:NAME)")
	cmd.Flags().StringVar(&userName, "user", "", "the administrator the token acts for (default: the only one)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.MarkFlagRequired("name")
	return cmd
}

// tokenOwner finds the user named name, or with name "" the only user.
func tokenOwner(ctx context.Context, tx store.Tx, name string) (*vend.User, error) {
	if name != "" {
		return tx.FindUserByName(ctx, name)
	}
	users, err := tx.FindUsers(ctx)
	if err != nil {
		return nil, err
	}
	switch len(users) {
	case 0:
		return nil, vend.Errorf(vend.EINVALID, "There is no administrator yet: add one with vend user add NAME first.")
	case 1:
		return users[0], nil
	}
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Name
	}
	return nil, vend.Errorf(vend.EINVALID, "Name the user the token acts for with --user (one of %s).", strings.Join(names, ", "))
}

func validateTokenName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 64 {
		return errors.New("--name: a token needs a name of 1 to 64 characters")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return errors.New("--name: a token's name may only have printable characters")
		}
	}
	return nil
}

func newTokenListCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the API tokens (never the tokens themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			ctx := cmd.Context()
			var tokens []*vend.APIToken
			owners := map[int64]string{}
			err := app.DB.View(ctx, func(tx store.Tx) error {
				var err error
				if tokens, err = tx.FindAPITokens(ctx); err != nil {
					return err
				}
				users, err := tx.FindUsers(ctx)
				for _, u := range users {
					owners[u.ID] = u.Name
				}
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				if tokens == nil {
					tokens = []*vend.APIToken{}
				}
				return printJSON(app.Stdout, tokens)
			}
			tw := tabwriter.NewWriter(plainWriter{app.Stdout}, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tUSER\tCREATED\tLAST USED")
			for _, t := range tokens {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, owners[t.UserID], t.CreatedAt.Format("2006-01-02 15:04"), formatTime(t.LastUsedAt))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newTokenDeleteCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an API token: scripts using it are refused from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("token id %q: want the number that vend token list shows", args[0])
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			ctx := cmd.Context()
			var gone *vend.APIToken
			err = app.DB.Update(ctx, func(tx store.Tx) error {
				tokens, err := tx.FindAPITokens(ctx)
				if err != nil {
					return err
				}
				for _, t := range tokens {
					if t.ID == id {
						gone = t
					}
				}
				if gone == nil {
					return vend.Errorf(vend.ENOTFOUND, "No API token %d.", id)
				}
				if err := tx.DeleteAPIToken(ctx, id); err != nil {
					return err
				}
				return store.RecordAudit(ctx, tx, cliActor, "token.delete", vend.TokenTarget(gone.ID), gone, nil)
			})
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(plainWriter{app.Stdout}, "Token %d %q deleted.\n", gone.ID, gone.Name)
			return nil
		},
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format("2006-01-02 15:04")
}

// newPassword reads a new password. With fromStdin it is the first line of
// standard input; else it is asked for on the terminal, twice. Without
// golang.org/x/term vend cannot turn the terminal's echo off, so the prompt says
// that the password shows; scripts and the careful pipe it in with
// --password-stdin.
func newPassword(cmd *cobra.Command, app *App, fromStdin bool) (string, error) {
	in := bufio.NewReader(cmd.InOrStdin())
	var pw string
	if fromStdin {
		var err error
		if pw, err = readLine(in); err != nil {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
	} else {
		if f, ok := cmd.InOrStdin().(*os.File); !ok || !isTerminal(f) {
			return "", errors.New("no terminal to ask for the password on: pipe it in with --password-stdin")
		}
		fmt.Fprint(app.Stderr, "New password (it shows as you type): ")
		first, err := readLine(in)
		if err != nil {
			return "", err
		}
		fmt.Fprint(app.Stderr, "The same again: ")
		again, err := readLine(in)
		if err != nil {
			return "", err
		}
		if first != again {
			return "", errors.New("the two passwords differ")
		}
		pw = first
	}
	return pw, nil
}

// readLine reads one line without its line break. A last line without one is
// fine; nothing at all is an empty line.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
