package runtime

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Character classes of RFC 6749 Appendix A.

// isVSChars reports whether s is *VSCHAR (%x20-7E): client_id,
// client_secret, state, code, refresh_token.
func isVSChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isNQChar reports whether c is NQCHAR (%x21 / %x23-5B / %x5D-7E): a
// scope-token character.
func isNQChar(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)
}

// isScopeToken reports whether s is a scope-token (1*NQCHAR).
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNQChar(s[i]) {
			return false
		}
	}
	return true
}

// isUnicodeNoCRLF reports whether s is *UNICODECHARNOCRLF (Appendix A.5):
// valid UTF-8 without CR or LF; also refused: NUL and other C0 controls
// but tab, which no username or password legitimately holds.
func isUnicodeNoCRLF(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// isUnreserved reports whether c is an RFC 3986 unreserved character
// (ALPHA / DIGIT / "-" / "." / "_" / "~"), the alphabet of PKCE values.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isPKCEValue reports whether s is a valid code_verifier or plain
// code_challenge (RFC 7636 §4.1, §4.2): 43–128 unreserved characters.
func isPKCEValue(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isUnreserved(s[i]) {
			return false
		}
	}
	return true
}

// isGrantType reports whether s is a syntactically valid grant_type
// (Appendix A.10): 1*name-char, or an absolute URI.
func isGrantType(s string) bool {
	if s == "" {
		return false
	}
	if isName(s) {
		return true
	}
	return isAbsoluteURI(s)
}

// isName reports whether s is 1*name-char (ALPHA / DIGIT / "-" / "." / "_").
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isUnreserved(c) && c != '~') {
			return false
		}
	}
	return true
}

// isAbsoluteURI reports whether s parses as an absolute URI without
// whitespace or control characters.
func isAbsoluteURI(s string) bool {
	if strings.ContainsFunc(s, func(r rune) bool { return r <= 0x20 || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.IsAbs()
}

// isB64Token reports whether s is a b64token (RFC 6750 §2.1):
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && (isUnreserved(s[i]) || s[i] == '+' || s[i] == '/') {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}
