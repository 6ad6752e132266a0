package license

// Label is a face-item label in both languages.
type Label struct{ ZH, EN string }

// Labels are the face-item labels of one kind of entity (C0135-2019; STANDARDS §3). An empty
// label means the kind has no such item.
type Labels struct {
	Code, Name, Type, Person, Capital, Form, Date, Term, Place, Scope Label
}

var (
	lCode        = Label{"统一社会信用代码", "Unified social credit code"}
	lName        = Label{"名称", "Name"}
	lType        = Label{"类型", "Type"}
	lLegalRep    = Label{"法定代表人", "Legal representative"}
	lCapital     = Label{"注册资本", "Registered capital"}
	lEstablished = Label{"成立日期", "Date of establishment"}
	lTerm        = Label{"营业期限", "Business term"}
	lDomicile    = Label{"住所", "Domicile"}
	lScope       = Label{"经营范围", "Business scope"}
)

var labels = map[Kind]Labels{
	Company: {Code: lCode, Name: lName, Type: lType, Person: lLegalRep, Capital: lCapital,
		Date: lEstablished, Term: lTerm, Place: lDomicile, Scope: lScope},
	Branch: {Code: lCode, Name: lName, Type: lType, Person: Label{"负责人", "Person in charge"},
		Date: lEstablished, Term: lTerm, Place: Label{"营业场所", "Business premises"}, Scope: lScope},
	Partnership: {Code: lCode, Name: lName, Type: lType, Person: Label{"执行事务合伙人", "Executive partner"},
		Date: lEstablished, Term: Label{"合伙期限", "Partnership term"},
		Place: Label{"主要经营场所", "Main business premises"}, Scope: lScope},
	SoleProprietorship: {Code: lCode, Name: lName, Type: lType, Person: Label{"投资人", "Investor"},
		Date: lEstablished, Place: lDomicile, Scope: lScope},
	Individual: {Code: lCode, Name: lName, Type: lType, Person: Label{"经营者", "Operator"},
		Form: Label{"组成形式", "Form of organisation"}, Date: Label{"注册日期", "Date of registration"},
		Place: Label{"经营场所", "Business premises"}, Scope: lScope},
	Cooperative: {Code: lCode, Name: lName, Type: lType, Person: lLegalRep,
		Capital: Label{"成员出资总额", "Total member contributions"}, Date: lEstablished,
		Place: lDomicile, Scope: Label{"业务范围", "Scope of business"}},
}

// LabelsFor returns the face-item labels of kind k (the company's for an unknown kind).
func LabelsFor(k Kind) Labels {
	if l, ok := labels[k]; ok {
		return l
	}
	return labels[Company]
}

var kindNames = map[Kind]Label{
	Company:            {"公司/非公司企业法人", "Company"},
	Branch:             {"分支机构", "Branch"},
	Partnership:        {"合伙企业", "Partnership"},
	SoleProprietorship: {"个人独资企业", "Sole proprietorship"},
	Individual:         {"个体工商户", "Individual business"},
	Cooperative:        {"农民专业合作社", "Farmers' cooperative"},
}

// KindName returns the name of a kind in both languages.
func KindName(k Kind) (zh, en string) {
	l, ok := kindNames[k]
	if !ok {
		return string(k), string(k)
	}
	return l.ZH, l.EN
}

var statusNames = map[Status]Label{
	Active:     {"存续（在营）", "Active"},
	Suspended:  {"暂停", "Suspended"},
	Cancelled:  {"注销", "Cancelled"},
	Revoked:    {"吊销", "Revoked"},
	Superseded: {"已被新版本替代", "Superseded"},
}

// StatusName returns the name of a status in both languages.
func StatusName(s Status) (zh, en string) {
	l, ok := statusNames[s]
	if !ok {
		return string(s), string(s)
	}
	return l.ZH, l.EN
}

// Valid reports whether a licence in this status proves the entity exists and may operate.
func (s Status) Valid() bool { return s == Active }
