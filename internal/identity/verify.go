package identity

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/elicense/elicense/internal/license"
)

// RegistryVerifier is the built-in RealNameVerifier: it accepts a person whose name and ID
// number match the person on the face of an entity's current licence — the 法定代表人, 经营者,
// 执行事务合伙人, 投资人 or 负责人 the registering authority recorded (STANDARDS §3, §6). The ID
// number is matched by its keyed hash; the name after NormalizeName. Persons named on no
// licence (most agents) are not verified by it; a production deployment plugs in the public
// security real-name service behind the same interface.
type RegistryVerifier struct {
	Licences LicenceFinder
	Protect  Protector
}

// Verify implements RealNameVerifier.
func (v *RegistryVerifier) Verify(ctx context.Context, name, idNumber string) (Match, error) {
	m := Match{Source: "registry"}
	hash := v.Protect.HashPersonID(idNumber)
	lics, err := v.Licences.ByPersonIDHash(ctx, hash)
	if err != nil {
		return m, fmt.Errorf("identity: licences by person: %w", err)
	}
	for _, l := range lics {
		if names(l, NormalizeName(name), hash) {
			m.Entities = append(m.Entities, l.Code)
		}
	}
	m.Verified = len(m.Entities) > 0
	return m, nil
}

// names reports whether licence l names the person with this (normalised) name and ID hash.
func names(l *license.Licence, name string, idHash []byte) bool {
	return len(l.PersonIDHash) > 0 && subtle.ConstantTimeCompare(l.PersonIDHash, idHash) == 1 &&
		NormalizeName(l.Face.Person) == name
}
