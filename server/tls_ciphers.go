package server

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// memcached hands ssl_ciphers to OpenSSL's SSL_CTX_set_cipher_list, which
// (as Go's Config.CipherSuites) governs TLS 1.2 and below; TLS 1.3 suites
// are always on. parseCiphers maps the common part of OpenSSL's cipher
// list language onto Go's suites:
//
//   - OpenSSL suite names (ECDHE-RSA-AES128-GCM-SHA256) and IANA names
//     (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) of the suites Go implements;
//   - the keywords DEFAULT, ALL, HIGH, SECURE (Go's secure default list),
//     ECDHE/EECDH/kECDHE, RSA/kRSA, aRSA, ECDSA/aECDSA, AES, AES128,
//     AES256, AESGCM, CHACHA20, 3DES, SHA1/SHA, SHA256, SHA384, joined
//     with + for "both";
//   - !X and -X remove what X names; +X (ordering) and @STRENGTH,
//     @SECLEVEL=n are accepted and change nothing (Go orders suites
//     itself);
//   - excluding what Go never offers (!aNULL, !eNULL, !RC4, !MD5, !DES,
//     !EXPORT, !LOW, !MEDIUM, !PSK, !SRP, !DSS, !DHE, !CAMELLIA, ...) is
//     accepted.
//
// A name or keyword with no Go equivalent (DHE suites, CAMELLIA, RC4 as
// an inclusion) is refused with an error naming it.
func parseCiphers(spec string) ([]uint16, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	fail := func(why string) ([]uint16, error) {
		return nil, mcErrorf("Error setting the provided cipher(s): %s: %s", spec, why)
	}
	var out []uint16
	removed := map[uint16]bool{}
	for _, item := range strings.FieldsFunc(spec, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		if item[0] == '@' {
			continue
		}
		op := byte(0)
		if item[0] == '!' || item[0] == '-' || item[0] == '+' {
			op, item = item[0], item[1:]
		}
		set, known := cipherSet(item)
		if !known || (len(set) == 0 && op == 0) {
			return fail(fmt.Sprintf("%q has no equivalent in Go's crypto/tls", item))
		}
		switch op {
		case '!', '-':
			for _, id := range set {
				removed[id] = op == '!' || removed[id]
				out = slices.DeleteFunc(out, func(x uint16) bool { return x == id })
			}
		case 0:
			for _, id := range set {
				if !removed[id] && !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
		}
	}
	if len(out) == 0 {
		return fail("no cipher suite left")
	}
	return out, nil
}

type goSuite struct {
	ossl string // OpenSSL's name
	id   uint16
}

// goSuites are Go's TLS 1.0–1.2 suites by OpenSSL name.
var goSuites = []goSuite{
	{"ECDHE-ECDSA-AES128-GCM-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	{"ECDHE-ECDSA-AES256-GCM-SHA384", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
	{"ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
	{"ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
	{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
	{"ECDHE-ECDSA-AES128-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
	{"ECDHE-RSA-AES128-SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
	{"ECDHE-ECDSA-AES256-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
	{"ECDHE-RSA-AES256-SHA", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA},
	{"ECDHE-ECDSA-AES128-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256},
	{"ECDHE-RSA-AES128-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256},
	{"AES128-GCM-SHA256", tls.TLS_RSA_WITH_AES_128_GCM_SHA256},
	{"AES256-GCM-SHA384", tls.TLS_RSA_WITH_AES_256_GCM_SHA384},
	{"AES128-SHA", tls.TLS_RSA_WITH_AES_128_CBC_SHA},
	{"AES256-SHA", tls.TLS_RSA_WITH_AES_256_CBC_SHA},
	{"AES128-SHA256", tls.TLS_RSA_WITH_AES_128_CBC_SHA256},
	{"ECDHE-RSA-DES-CBC3-SHA", tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA},
	{"DES-CBC3-SHA", tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA},
}

// cipherKeywords are OpenSSL's keywords as tests on a suite's OpenSSL name.
var cipherKeywords = map[string]func(string) bool{
	"ECDHE":    func(n string) bool { return strings.HasPrefix(n, "ECDHE-") },
	"RSA":      func(n string) bool { return !strings.HasPrefix(n, "ECDHE-") },
	"aRSA":     func(n string) bool { return !strings.Contains(n, "ECDSA") },
	"ECDSA":    func(n string) bool { return strings.Contains(n, "-ECDSA-") },
	"AES":      func(n string) bool { return strings.Contains(n, "AES") },
	"AES128":   func(n string) bool { return strings.Contains(n, "AES128") },
	"AES256":   func(n string) bool { return strings.Contains(n, "AES256") },
	"AESGCM":   func(n string) bool { return strings.Contains(n, "GCM") },
	"CHACHA20": func(n string) bool { return strings.Contains(n, "CHACHA20") },
	"3DES":     func(n string) bool { return strings.Contains(n, "DES-CBC3") },
	"SHA1":     func(n string) bool { return strings.HasSuffix(n, "-SHA") },
	"SHA256":   func(n string) bool { return strings.HasSuffix(n, "-SHA256") || strings.HasSuffix(n, "POLY1305") },
	"SHA384":   func(n string) bool { return strings.HasSuffix(n, "-SHA384") },
}

var cipherAliases = map[string]string{"EECDH": "ECDHE", "kECDHE": "ECDHE", "kEECDH": "ECDHE", "kRSA": "RSA",
	"aECDSA": "ECDSA", "SHA": "SHA1"}

// cipherNothing are OpenSSL keywords that name no suite Go implements.
var cipherNothing = map[string]bool{"aNULL": true, "eNULL": true, "NULL": true, "COMPLEMENTOFDEFAULT": true,
	"EXPORT": true, "EXP": true, "LOW": true, "MEDIUM": true, "RC4": true, "MD5": true, "DES": true, "IDEA": true,
	"SEED": true, "CAMELLIA": true, "ARIA": true, "PSK": true, "SRP": true, "DSS": true, "aDSS": true, "DH": true,
	"EDH": true, "DHE": true, "kDHE": true, "kEDH": true, "ADH": true, "AECDH": true, "aNULL+eNULL": true,
	"SSLv2": true, "SSLv3": true, "kDH": true, "kECDH": true, "aDH": true, "ECDH+aNULL": true}

// cipherSet is what one item (without its !, - or + prefix) names; known
// is false when it names nothing OpenSSL and Go both know.
func cipherSet(item string) (set []uint16, known bool) {
	if cipherNothing[item] {
		return nil, true
	}
	switch item {
	case "DEFAULT", "ALL", "HIGH", "SECURE":
		for _, s := range tls.CipherSuites() {
			if slices.ContainsFunc(goSuites, func(g goSuite) bool { return g.id == s.ID }) {
				set = append(set, s.ID)
			}
		}
		return set, true
	}
	var tests []func(string) bool
	var exact func(goSuite) bool // a suite named, not a keyword
	for _, part := range strings.Split(item, "+") {
		if a, ok := cipherAliases[part]; ok {
			part = a
		}
		if f, ok := cipherKeywords[part]; ok {
			tests = append(tests, f)
			continue
		}
		name := part
		exact = func(g goSuite) bool { return g.ossl == name || tls.CipherSuiteName(g.id) == name }
	}
	for _, g := range goSuites {
		all := exact == nil || exact(g)
		for _, f := range tests {
			all = all && f(g.ossl)
		}
		if all {
			set = append(set, g.id)
		}
	}
	return set, len(set) > 0
}
