package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/oauthgen/oauthgen/examples/postgres/oauthstore"
	"github.com/oauthgen/oauthgen/runtime"
)

// The demo's clients and user.
const (
	demoClient       = "demo"
	demoPublicClient = "demo-public"
	demoUser         = "alice"
	// callbackPath is the demo clients' redirect URI, relative to the
	// issuer: a page that shows the code, standing in for a real client.
	callbackPath = "/callback"
)

// seedDemo creates demo clients and a user on a database without
// clients, and prints how to try every grant with them: each curl line
// works as printed once the shell variable its comment names is set.
//
// Instances starting together on one new database may all find it
// without clients; the first to insert the demo user wins and the others
// skip the demo. So does a database where the user exists already: its
// password is not known here.
func seedDemo(ctx context.Context, store *oauthstore.Store, issuer string, out io.Writer, logger *slog.Logger) error {
	password := demoPassword()
	_, err := store.CreateUser(ctx, oauthstore.NewUser{Username: demoUser, Password: password})
	if errors.Is(err, runtime.ErrDuplicate) {
		logger.Info("no demo: user " + demoUser + " exists already")
		return nil
	}
	if err != nil {
		return err
	}
	callback := issuer + callbackPath
	demoScopes := []string{"read", "write"}
	secret, err := registerClient(ctx, store, runtime.Client{
		ID: demoClient, Name: "Demo confidential client",
		GrantTypes:   []string{runtime.GrantClientCredentials, runtime.GrantPassword, runtime.GrantAuthorizationCode, runtime.GrantRefreshToken},
		Scopes:       demoScopes,
		RedirectURIs: []string{callback},
	}, false)
	if err != nil {
		return fmt.Errorf("demo client: %w", err)
	}
	if _, err := registerClient(ctx, store, runtime.Client{
		ID: demoPublicClient, Name: "Demo app",
		GrantTypes:   []string{runtime.GrantAuthorizationCode, runtime.GrantRefreshToken, runtime.GrantDeviceCode},
		Scopes:       demoScopes,
		RedirectURIs: []string{callback},
	}, true); err != nil {
		return fmt.Errorf("demo client: %w", err)
	}

	verifier := runtime.NewToken() // 43 characters: RFC 7636's shortest verifier, 256 bits
	authorize := issuer + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {demoPublicClient}, "redirect_uri": {callback},
		"scope": {"read"}, "state": {"demo"},
		"code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {runtime.PKCES256},
	}.Encode()
	basic := fmt.Sprintf("-u '%s:%s'", demoClient, secret)
	token := issuer + "/token"
	ccToken := fmt.Sprintf("curl -s %s -d grant_type=client_credentials -d scope=read %s", basic, token)
	r := strings.NewReplacer(
		"$ISSUER", issuer, "$TOKEN_URL", token, "$BASIC", basic,
		"$CLIENT", demoClient, "$SECRET", secret,
		"$CC_TOKEN", ccToken,
		"$PUBLIC", demoPublicClient,
		"$USER", demoUser, "$PASSWORD", password,
		"$AUTHORIZE", authorize, "$CALLBACK", callback, "$VERIFIER", verifier,
		"$DEVICE_GRANT", runtime.GrantDeviceCode,
	)
	_, err = r.WriteString(out, demoText)
	return err
}

// demoPassword is 16 random letters and digits (about 95 bits): no "-"
// or "_" from base64url, which would read as an option or get lost when
// a password is double-clicked.
func demoPassword() string {
	var p []rune
	for len(p) < 16 {
		for _, r := range runtime.NewToken() {
			if r != '-' && r != '_' && len(p) < 16 {
				p = append(p, r)
			}
		}
	}
	return string(p)
}

// demoText is the demo's printout; seedDemo fills in the $NAMES. $TOKEN,
// $DEVICE_CODE and $CODE are left for the shell.
const demoText = `A new database: created demo clients and a demo user (secrets shown once).

  client  $CLIENT         secret $SECRET
  client  $PUBLIC  public: authorization code with PKCE, device flow
  user    $USER        password $PASSWORD

Try it: each curl line works as printed.

  # client_credentials: a token for the client itself
  $CC_TOKEN

  # the protected /me, called with such a token
  TOKEN=$($CC_TOKEN | sed -E 's/.*"access_token":"([^"]*)".*/\1/'); curl -s -H "Authorization: Bearer $TOKEN" $ISSUER/me

  # password grant: a token for $USER, and a refresh token
  curl -s $BASIC -d grant_type=password -d username=$USER -d password=$PASSWORD -d 'scope=read write' $TOKEN_URL

  # device flow: start it, open verification_uri_complete and sign in as $USER,
  curl -s -d client_id=$PUBLIC -d scope=read $ISSUER/device_authorization
  # then set DEVICE_CODE=<device_code of the answer> and poll for the token
  curl -s -d grant_type=$DEVICE_GRANT -d client_id=$PUBLIC -d "device_code=$DEVICE_CODE" $TOKEN_URL

  # authorization code with PKCE: open this in a browser and sign in as $USER,
  $AUTHORIZE
  # then set CODE=<code the callback page shows> and redeem it within 5 minutes
  curl -s -d grant_type=authorization_code -d client_id=$PUBLIC -d redirect_uri=$CALLBACK -d code_verifier=$VERIFIER -d "code=$CODE" $TOKEN_URL

`
