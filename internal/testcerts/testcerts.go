// Package testcerts makes throwaway certificates for tests: a CA, and
// server and client certificates it signs, as PEM (and DER) bytes. It is
// for tests only: keys are ECDSA P-256, made fresh on every call, and
// never leave the test's temporary directory.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte // the CA certificate
}

// Pair is an issued certificate and its key.
type Pair struct {
	CertPEM []byte // the certificate, then the CA's: a chain
	KeyPEM  []byte // PKCS#8
	KeyDER  []byte // PKCS#8
	TLS     tls.Certificate
}

// NewCA makes a CA named cn.
func NewCA(cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Pool is a pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

var serial = time.Now().UnixNano()

// Issue signs a certificate for cn in organizational unit ou: a client
// certificate when client, else a server one for localhost, 127.0.0.1
// and ::1.
func (ca *CA) Issue(cn, ou string, client bool) (*Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn, OrganizationalUnit: []string{ou}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	p := &Pair{
		CertPEM: append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.PEM...),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}),
		KeyDER:  kd,
	}
	p.TLS, err = tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	return p, err
}

// Write writes b to path, readable by its owner only.
func Write(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

// Files are a CA, a server certificate it signed (for localhost,
// 127.0.0.1 and ::1) and a client certificate, the first two written
// to a directory as a daemon's -o ssl_* options take them; and a client
// certificate of another CA, which the server must refuse.
type Files struct {
	CA                       *CA
	Server, Client, Stranger *Pair
	Chain, Key               string // ssl_chain_cert and ssl_key: the server's chain and key, PEM
	CAFile                   string // ssl_ca_cert: the CA, PEM
}

// WriteFiles makes Files in dir: chain.pem, key.pem and ca.pem.
func WriteFiles(dir string) (*Files, error) {
	ca, err := NewCA("test CA")
	if err != nil {
		return nil, err
	}
	f := &Files{CA: ca, Chain: filepath.Join(dir, "chain.pem"), Key: filepath.Join(dir, "key.pem"), CAFile: filepath.Join(dir, "ca.pem")}
	if f.Server, err = ca.Issue("localhost", "servers", false); err != nil {
		return nil, err
	}
	if f.Client, err = ca.Issue("client.test", "clients", true); err != nil {
		return nil, err
	}
	other, err := NewCA("another CA")
	if err != nil {
		return nil, err
	}
	if f.Stranger, err = other.Issue("stranger", "clients", true); err != nil {
		return nil, err
	}
	for _, w := range []struct {
		path string
		b    []byte
	}{{f.Chain, f.Server.CertPEM}, {f.Key, f.Server.KeyPEM}, {f.CAFile, ca.PEM}} {
		if err := Write(w.path, w.b); err != nil {
			return nil, err
		}
	}
	return f, nil
}
