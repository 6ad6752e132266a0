package importer

import (
	"strings"

	"github.com/elicense/elicense/internal/license"
)

// Columns are the documented columns of an import file (docs/import.md), in the order the
// writers use. CSV headers and JSON Lines keys use the same names.
var Columns = []string{
	"code", "kind", "name", "type", "person", "person_id",
	"capital_amount", "capital_currency", "form", "established_on", "term_from", "term_to",
	"address", "scope", "region", "authority",
}

// required are the columns a CSV header must have; every kind of entity has them.
var required = []string{"code", "kind", "name"}

// The index of each column in Columns (and in a record).
const (
	colCode = iota
	colKind
	colName
	colType
	colPerson
	colPersonID
	colCapitalAmount
	colCapitalCurrency
	colForm
	colEstablishedOn
	colTermFrom
	colTermTo
	colAddress
	colScope
	colRegion
	colAuthority
	numColumns
)

var columnIndex = func() map[string]int {
	m := make(map[string]int, len(Columns))
	for i, c := range Columns {
		m[c] = i
	}
	return m
}()

// kindAliases lets a file name the kind of entity in Chinese, as registers do.
var kindAliases = map[string]license.Kind{
	"公司":      license.Company,
	"分支机构":    license.Branch,
	"分公司":     license.Branch,
	"合伙企业":    license.Partnership,
	"个人独资企业":  license.SoleProprietorship,
	"个体工商户":   license.Individual,
	"农民专业合作社": license.Cooperative,
}

// registration builds a registration from the values of one row, indexed like Columns.
// Values are trimmed of surrounding white space; an empty authority takes defAuthority.
func registration(v *[numColumns]string, defAuthority string) license.Registration {
	for i := range v {
		v[i] = strings.TrimSpace(v[i])
	}
	kind := license.Kind(v[colKind])
	if k, ok := kindAliases[v[colKind]]; ok {
		kind = k
	}
	reg := license.Registration{
		Code: v[colCode],
		Kind: kind,
		Face: license.Face{
			Name:          v[colName],
			Type:          v[colType],
			Person:        v[colPerson],
			Form:          v[colForm],
			EstablishedOn: v[colEstablishedOn],
			TermFrom:      v[colTermFrom],
			TermTo:        v[colTermTo],
			Address:       v[colAddress],
			Scope:         v[colScope],
		},
		PersonID:  v[colPersonID],
		Region:    v[colRegion],
		Authority: v[colAuthority],
	}
	if reg.Authority == "" {
		reg.Authority = defAuthority
	}
	// An empty currency is CNY (licence validation fills it in).
	if v[colCapitalAmount] != "" || v[colCapitalCurrency] != "" {
		reg.Face.Capital = &license.Capital{Amount: v[colCapitalAmount], Currency: v[colCapitalCurrency]}
	}
	return reg
}

// values is the inverse of registration: the column values of reg, indexed like Columns.
func values(reg *license.Registration) [numColumns]string {
	var v [numColumns]string
	v[colCode] = reg.Code
	v[colKind] = string(reg.Kind)
	v[colName] = reg.Face.Name
	v[colType] = reg.Face.Type
	v[colPerson] = reg.Face.Person
	v[colPersonID] = reg.PersonID
	if c := reg.Face.Capital; c != nil {
		v[colCapitalAmount] = c.Amount
		v[colCapitalCurrency] = c.Currency
	}
	v[colForm] = reg.Face.Form
	v[colEstablishedOn] = reg.Face.EstablishedOn
	v[colTermFrom] = reg.Face.TermFrom
	v[colTermTo] = reg.Face.TermTo
	v[colAddress] = reg.Face.Address
	v[colScope] = reg.Face.Scope
	v[colRegion] = reg.Region
	v[colAuthority] = reg.Authority
	return v
}

// columnOf maps a field named by licence validation ("face.name", "face.capital.amount",
// "person_id") to the import column that holds it ("name", "capital_amount", "person_id").
// Names that match no column are returned unchanged.
func columnOf(field string) string {
	f := strings.TrimPrefix(field, "face.")
	switch {
	case f == "capital":
		return "capital_amount"
	case strings.HasPrefix(f, "capital."):
		f = "capital_" + strings.TrimPrefix(f, "capital.")
	case f == "term":
		return "term_to"
	}
	if _, ok := columnIndex[f]; ok {
		return f
	}
	return field
}
