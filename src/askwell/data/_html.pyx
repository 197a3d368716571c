# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""One pass over a post's HTML: prose, code blocks, inline code, links, images, quotes, counts.

This is the hot loop of ingestion (millions of bodies) and of every score request, so it is a
single character scan in C rather than a dozen regular-expression passes in Python: the
regex version ran at ~35 MB/s, this one at several hundred (bench/ingest). The rules are
documented on ``askwell.data.text.BodyParts``; rare entities go to ``html.unescape`` so the
decoding is exactly Python's. Total on any string: it never raises on content.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from html import unescape as _py_unescape


cdef extern from "Python.h":
    int PyUnicode_KIND(object o)
    void* PyUnicode_DATA(object o)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index)
    object PyUnicode_FromKindAndData(int kind, const void* buffer, Py_ssize_t size)
    int PyUnicode_4BYTE_KIND


cdef struct Buf:
    Py_UCS4* data
    Py_ssize_t size
    Py_ssize_t cap


cdef int buf_init(Buf* b, Py_ssize_t cap) except -1:
    if cap < 16:
        cap = 16
    b.data = <Py_UCS4*>PyMem_Malloc(cap * sizeof(Py_UCS4))
    if b.data == NULL:
        raise MemoryError()
    b.size = 0
    b.cap = cap
    return 0


cdef inline int buf_put(Buf* b, Py_UCS4 ch) except -1:
    cdef Py_UCS4* grown
    if b.size == b.cap:
        grown = <Py_UCS4*>PyMem_Realloc(b.data, 2 * b.cap * sizeof(Py_UCS4))
        if grown == NULL:
            raise MemoryError()
        b.data = grown
        b.cap *= 2
    b.data[b.size] = ch
    b.size += 1
    return 0


cdef object buf_str(Buf* b, Py_ssize_t start, Py_ssize_t end):
    if end <= start:
        return ""
    return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, b.data + start, end - start)


cdef inline bint is_space(Py_UCS4 ch):
    return ch == 32 or (9 <= ch <= 13)


cdef inline bint is_alpha(Py_UCS4 ch):
    return (65 <= ch <= 90) or (97 <= ch <= 122)


cdef inline bint is_alnum(Py_UCS4 ch):
    return is_alpha(ch) or (48 <= ch <= 57)


cdef inline Py_UCS4 lower(Py_UCS4 ch):
    if 65 <= ch <= 90:
        return <Py_UCS4>(<unsigned int>ch + 32)
    return ch


cdef enum TagClass:
    T_OTHER, T_BLOCK, T_LINE, T_PRE, T_CODE, T_QUOTE, T_A, T_IMG, T_LIST, T_LI, T_P

cdef dict _CLASSES = {
    "p": T_P, "div": T_BLOCK, "h1": T_BLOCK, "h2": T_BLOCK, "h3": T_BLOCK, "h4": T_BLOCK,
    "h5": T_BLOCK, "h6": T_BLOCK, "ul": T_LIST, "ol": T_LIST, "blockquote": T_QUOTE,
    "pre": T_PRE, "table": T_BLOCK, "tr": T_BLOCK, "thead": T_BLOCK, "tbody": T_BLOCK,
    "dl": T_BLOCK, "dt": T_BLOCK, "dd": T_BLOCK, "hr": T_BLOCK, "section": T_BLOCK,
    "article": T_BLOCK, "aside": T_BLOCK, "header": T_BLOCK, "footer": T_BLOCK,
    "figure": T_BLOCK, "figcaption": T_BLOCK, "details": T_BLOCK, "summary": T_BLOCK,
    "br": T_LINE, "li": T_LI, "td": T_LINE, "th": T_LINE, "code": T_CODE, "a": T_A,
    "img": T_IMG,
}


cdef class _Out:
    """Where decoded text goes: prose (whitespace collapsed, breaks as newlines), the current
    code block, inline-code snippet and quote."""

    cdef Buf prose, pre, code, quote
    cdef int pending  # 0 nothing, 1 space, 2 newline, 3 blank line before the next prose char
    cdef bint quote_space
    cdef int in_pre, in_code, in_quote

    def __cinit__(self, Py_ssize_t n):
        buf_init(&self.prose, n + 16)
        buf_init(&self.pre, 16)
        buf_init(&self.code, 16)
        buf_init(&self.quote, 16)
        self.pending = 0
        self.quote_space = 0
        self.in_pre = 0
        self.in_code = 0
        self.in_quote = 0

    def __dealloc__(self):
        PyMem_Free(self.prose.data)
        PyMem_Free(self.pre.data)
        PyMem_Free(self.code.data)
        PyMem_Free(self.quote.data)

    cdef inline void brk(self, int level):
        if level > self.pending:
            self.pending = level
        self.quote_space = 1

    cdef int put(self, Py_UCS4 ch) except -1:
        if self.in_pre:
            return buf_put(&self.pre, ch)
        if self.in_code:
            buf_put(&self.code, ch)
        if is_space(ch):
            if self.pending == 0:
                self.pending = 1
            self.quote_space = 1
            return 0
        if self.prose.size:
            if self.pending == 3:
                buf_put(&self.prose, 10)
                buf_put(&self.prose, 10)
            elif self.pending == 2:
                buf_put(&self.prose, 10)
            elif self.pending == 1:
                buf_put(&self.prose, 32)
        self.pending = 0
        buf_put(&self.prose, ch)
        if self.in_quote:
            if self.quote_space and self.quote.size:
                buf_put(&self.quote, 32)
            self.quote_space = 0
            buf_put(&self.quote, ch)
        return 0

    cdef int put_str(self, str s) except -1:
        cdef Py_UCS4 ch
        for ch in s:
            self.put(ch)
        return 0


cdef Py_ssize_t entity_end(str s, Py_ssize_t i, Py_ssize_t n):
    """End of the character reference starting at s[i] == '&' (html.unescape's grammar), or
    i when there is none."""
    cdef Py_ssize_t j = i + 1
    cdef Py_ssize_t limit
    cdef Py_UCS4 ch
    if j >= n:
        return i
    ch = s[j]
    if ch == 35:  # '#'
        j += 1
        if j < n and (s[j] == 120 or s[j] == 88):  # x X
            j += 1
            limit = j
            while j < n and (48 <= s[j] <= 57 or 97 <= lower(s[j]) <= 102):
                j += 1
        else:
            limit = j
            while j < n and 48 <= s[j] <= 57:
                j += 1
        if j == limit:
            return i
    else:
        limit = j
        while j < n and j - limit < 32:
            ch = s[j]
            if ch == 9 or ch == 10 or ch == 12 or ch == 32 or ch == 60 or ch == 38 \
                    or ch == 35 or ch == 59:
                break
            j += 1
        if j == limit:
            return i
    if j < n and s[j] == 59:  # ';'
        j += 1
    return j


cdef Py_ssize_t put_entity(_Out out, str s, Py_ssize_t i, Py_ssize_t n) except -2:
    """Decodes the reference at s[i] into ``out``; returns the index after it."""
    cdef Py_ssize_t j = entity_end(s, i, n)
    cdef str ref
    if j == i:
        out.put(38)
        return i + 1
    ref = s[i:j]
    if ref == "&lt;":
        out.put(60)
    elif ref == "&gt;":
        out.put(62)
    elif ref == "&amp;":
        out.put(38)
    elif ref == "&quot;":
        out.put(34)
    elif ref == "&#39;" or ref == "&apos;":
        out.put(39)
    else:
        out.put_str(_py_unescape(ref))
    return j


cdef str attr_value(str s, Py_ssize_t i, Py_ssize_t end, str name):
    """The value of attribute ``name`` in the tag text s[i:end], entity-decoded, or None."""
    cdef Py_ssize_t a, b, a2
    cdef Py_UCS4 q
    cdef str value
    while i < end:
        while i < end and (is_space(s[i]) or s[i] == 47):
            i += 1
        a = i
        while i < end and not is_space(s[i]) and s[i] != 61 and s[i] != 47:
            i += 1
        b = i
        while i < end and is_space(s[i]):
            i += 1
        value = ""
        if i < end and s[i] == 61:  # '='
            i += 1
            while i < end and is_space(s[i]):
                i += 1
            if i < end and (s[i] == 34 or s[i] == 39):
                q = s[i]
                i += 1
                a2 = i
                while i < end and s[i] != q:
                    i += 1
                value = s[a2:i]
                i += 1
            else:
                a2 = i
                while i < end and not is_space(s[i]):
                    i += 1
                value = s[a2:i]
        if b > a and s[a:b].lower() == name:
            return _py_unescape(value) if "&" in value else value
        if b == a and i < end and not (s[i] == 61):
            i += 1
    return None


def extract(str s):
    """(text, code_blocks, inline_code, links, images, quotes,
    n_lists, n_list_items, n_paragraphs, n_blockquotes) of one HTML body."""
    cdef Py_ssize_t n = len(s)
    cdef Py_ssize_t i = 0, j, k, name_start, name_end, no_gt_from = n + 1
    cdef Py_UCS4 ch
    cdef bint closing
    cdef int cls
    cdef int n_lists = 0, n_items = 0, n_paras = 0, n_quotes = 0
    cdef _Out out = _Out(n)
    cdef list code_blocks = [], inline = [], links = [], images = [], quotes = []
    cdef str name, value
    cdef Py_ssize_t a, b
    while i < n:
        ch = s[i]
        if ch == 38:  # '&'
            i = put_entity(out, s, i, n)
            continue
        if ch == 13:  # CR LF and lone CR are one newline, as an HTML parser reads them
            i += 1
            if i < n and s[i] == 10:
                continue
            out.put(10)
            continue
        if ch != 60:  # not '<'
            out.put(ch)
            i += 1
            continue
        # '<': a tag, a comment/declaration, or a literal '<'.
        j = i + 1
        if j < n and s[j] == 33:  # '<!'
            if s.startswith("<!--", i):
                k = s.find("-->", i + 4)
                i = n if k < 0 else k + 3
                continue
            k = s.find(">", j) if i < no_gt_from else -1
            if k < 0:
                no_gt_from = i
                out.put(ch)
                i += 1
                continue
            i = k + 1
            continue
        if j < n and s[j] == 63:  # '<?'
            k = s.find(">", j) if i < no_gt_from else -1
            if k < 0:
                no_gt_from = i
                out.put(ch)
                i += 1
                continue
            i = k + 1
            continue
        closing = j < n and s[j] == 47
        if closing:
            j += 1
        if j >= n or not is_alpha(s[j]) or i >= no_gt_from:
            out.put(ch)
            i += 1
            continue
        name_start = j
        while j < n and is_alnum(s[j]) and j - name_start < 24:
            j += 1
        name_end = j
        k = s.find(">", j)
        if k < 0:
            no_gt_from = i
            out.put(ch)
            i += 1
            continue
        name = s[name_start:name_end].lower()
        i = k + 1
        cls = _CLASSES.get(name, T_OTHER)
        if out.in_pre:
            if cls == T_PRE and closing:
                out.in_pre = 0
                a = 0
                b = out.pre.size
                while a < b and out.pre.data[a] == 10:
                    a += 1
                while b > a and out.pre.data[b - 1] == 10:
                    b -= 1
                value = buf_str(&out.pre, a, b)
                if not value.isspace() and value:
                    code_blocks.append(value)
                out.pre.size = 0
                out.brk(3)
            continue  # other markup inside a code block is not structure
        if cls == T_OTHER:
            continue
        if cls == T_PRE:
            if not closing:
                out.brk(3)
                out.in_pre = 1
            continue
        if cls == T_CODE:
            if not closing:
                if not out.in_code:
                    out.code.size = 0
                out.in_code += 1
            elif out.in_code:
                out.in_code -= 1
                if not out.in_code:
                    value = buf_str(&out.code, 0, out.code.size)
                    if value and not value.isspace():
                        inline.append(value)
            continue
        if cls == T_QUOTE:
            out.brk(3)
            if not closing:
                n_quotes += 1
                if not out.in_quote:
                    out.quote.size = 0
                    out.quote_space = 0
                out.in_quote += 1
            elif out.in_quote:
                out.in_quote -= 1
                if not out.in_quote and out.quote.size:
                    quotes.append(buf_str(&out.quote, 0, out.quote.size))
            continue
        if cls == T_A:
            if not closing:
                value = attr_value(s, name_end, k, "href")
                if value is not None and value:
                    links.append(value)
            continue
        if cls == T_IMG:
            if not closing:
                value = attr_value(s, name_end, k, "src")
                images.append(value if value is not None else "")
            continue
        if cls == T_LINE or cls == T_LI:
            if cls == T_LI and not closing:
                n_items += 1
            out.brk(2)
            continue
        if not closing:
            if cls == T_LIST:
                n_lists += 1
            elif cls == T_P:
                n_paras += 1
        out.brk(3)
    # Unclosed elements at the end of a broken body still keep their content.
    if out.in_pre:
        a = 0
        b = out.pre.size
        while a < b and out.pre.data[a] == 10:
            a += 1
        while b > a and out.pre.data[b - 1] == 10:
            b -= 1
        value = buf_str(&out.pre, a, b)
        if value and not value.isspace():
            code_blocks.append(value)
    if out.in_code:
        value = buf_str(&out.code, 0, out.code.size)
        if value and not value.isspace():
            inline.append(value)
    if out.in_quote and out.quote.size:
        quotes.append(buf_str(&out.quote, 0, out.quote.size))
    return (
        buf_str(&out.prose, 0, out.prose.size),
        tuple(code_blocks), tuple(inline), tuple(links), tuple(images), tuple(quotes),
        n_lists, n_items, n_paras, n_quotes,
    )
