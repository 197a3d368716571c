# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""One pass over a post's HTML: prose, code blocks, inline code, links, images, quotes, counts.

This is the hot loop of ingestion (millions of bodies) and of every score request, so it is a
single character scan in C rather than a dozen regular-expression passes in Python: the
regex version ran at ~35 MB/s, this one at several hundred (bench/ingest). The rules are
documented on ``askwell.data.text.BodyParts``; rare entities go to ``html.unescape`` so the
decoding is exactly Python's. Total on any string: it never raises on content.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.string cimport strncmp
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
        self.put_prose(ch)
        if self.in_quote:
            if self.quote_space and self.quote.size:
                buf_put(&self.quote, 32)
            self.quote_space = 0
            buf_put(&self.quote, ch)
        return 0

    cdef int put_run(self, int kind, void* data, Py_ssize_t a, Py_ssize_t b) except -1:
        """Text with no markup, entity or CR in it: the bulk of every body, so the prose case
        is inlined here rather than a call per character."""
        cdef Py_ssize_t k
        cdef Py_UCS4 ch
        if self.in_pre:
            for k in range(a, b):
                buf_put(&self.pre, PyUnicode_READ(kind, data, k))
            return 0
        if self.in_code or self.in_quote:
            for k in range(a, b):
                self.put(PyUnicode_READ(kind, data, k))
            return 0
        for k in range(a, b):
            ch = PyUnicode_READ(kind, data, k)
            if ch == 32 or (9 <= ch <= 13):
                if self.pending == 0:
                    self.pending = 1
                continue
            self.put_prose(ch)
        return 0

    cdef inline int put_prose(self, Py_UCS4 ch) except -1:
        """A visible character of prose, after the break or space that is pending."""
        if self.pending:
            if self.prose.size:
                if self.pending == 3:
                    buf_put(&self.prose, 10)
                    buf_put(&self.prose, 10)
                elif self.pending == 2:
                    buf_put(&self.prose, 10)
                else:
                    buf_put(&self.prose, 32)
            self.pending = 0
        return buf_put(&self.prose, ch)

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
    # The references sanitised HTML is made of, compared in place; any other goes to
    # html.unescape, so decoding is exactly Python's.
    if ends_with(s, i + 1, j, "lt;"):
        out.put(60)
    elif ends_with(s, i + 1, j, "gt;"):
        out.put(62)
    elif ends_with(s, i + 1, j, "amp;"):
        out.put(38)
    elif ends_with(s, i + 1, j, "quot;"):
        out.put(34)
    elif ends_with(s, i + 1, j, "#39;") or ends_with(s, i + 1, j, "apos;"):
        out.put(39)
    else:
        out.put_str(_py_unescape(s[i:j]))
    return j


cdef inline Py_ssize_t find_gt(int kind, void* data, Py_ssize_t j, Py_ssize_t n):
    while j < n:
        if PyUnicode_READ(kind, data, j) == 62:
            return j
        j += 1
    return -1


cdef inline bint ends_with(str s, Py_ssize_t a, Py_ssize_t b, const char* word):
    """s[a:b] == word (ASCII), without making a string."""
    cdef Py_ssize_t k = 0
    while word[k] != 0:
        if a + k >= b or s[a + k] != <Py_UCS4>word[k]:
            return False
        k += 1
    return a + k == b


cdef int tag_class(str s, Py_ssize_t a, Py_ssize_t b):
    """The class of the tag named s[a:b], case-insensitively, without making a string."""
    cdef char name[12]
    cdef Py_ssize_t k
    cdef Py_UCS4 ch
    if b - a > 10:
        return T_OTHER
    for k in range(b - a):
        ch = lower(s[a + k])
        if ch > 127:
            return T_OTHER
        name[k] = <char>ch
    name[b - a] = 0
    return _class_of(name, b - a)


cdef int _class_of(const char* name, Py_ssize_t n):
    # Dispatch on the first letter: most tags (b, i, em, strong, span…) are none of ours.
    cdef char c = name[0]
    if c == 112:  # p
        if n == 1: return T_P
        if one_of(name, n, "pre"): return T_PRE
        return T_OTHER
    if c == 97:  # a
        if n == 1: return T_A
        if one_of(name, n, "article aside"): return T_BLOCK
        return T_OTHER
    if c == 108:  # l
        return T_LI if one_of(name, n, "li") else T_OTHER
    if c == 98:  # b
        if one_of(name, n, "br"): return T_LINE
        if one_of(name, n, "blockquote"): return T_QUOTE
        return T_OTHER
    if c == 117 or c == 111:  # u o
        return T_LIST if one_of(name, n, "ul ol") else T_OTHER
    if c == 99:  # c
        return T_CODE if one_of(name, n, "code") else T_OTHER
    if c == 105:  # i
        return T_IMG if one_of(name, n, "img") else T_OTHER
    if c == 116:  # t
        if one_of(name, n, "td th"): return T_LINE
        if one_of(name, n, "table tr thead tbody"): return T_BLOCK
        return T_OTHER
    if c == 104:  # h
        if n == 2 and 49 <= name[1] <= 54: return T_BLOCK  # h1-h6
        if one_of(name, n, "hr header"): return T_BLOCK
        return T_OTHER
    if one_of(name, n, "div dl dt dd section footer figure figcaption details summary"):
        return T_BLOCK
    return T_OTHER


cdef bint one_of(const char* name, Py_ssize_t n, const char* words):
    """Whether name (n chars) is one of the space-separated words."""
    cdef Py_ssize_t start = 0, end
    while words[start] != 0:
        end = start
        while words[end] != 0 and words[end] != 32:
            end += 1
        if end - start == n and strncmp(name, words + start, n) == 0:
            return True
        start = end + 1 if words[end] != 0 else end
    return False


cdef str attr_value(str s, Py_ssize_t i, Py_ssize_t end, const char* name):
    """The value of attribute ``name`` (lower-case ASCII) in the tag text s[i:end],
    entity-decoded, or None. Only the matching value becomes a string."""
    cdef Py_ssize_t a, b, va, vb
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
        va = vb = i
        if i < end and s[i] == 61:  # '='
            i += 1
            while i < end and is_space(s[i]):
                i += 1
            if i < end and (s[i] == 34 or s[i] == 39):
                q = s[i]
                i += 1
                va = i
                while i < end and s[i] != q:
                    i += 1
                vb = i
                i += 1
            else:
                va = i
                while i < end and not is_space(s[i]):
                    i += 1
                vb = i
        if b > a and same_name(s, a, b, name):
            value = s[va:vb]
            return _py_unescape(value) if "&" in value else value
        if b == a and i < end and not (s[i] == 61):
            i += 1
    return None


cdef inline bint same_name(str s, Py_ssize_t a, Py_ssize_t b, const char* name):
    """s[a:b], case-insensitively, equals the lower-case ASCII ``name``."""
    cdef Py_ssize_t k = 0
    while name[k] != 0:
        if a + k >= b or lower(s[a + k]) != <Py_UCS4>name[k]:
            return False
        k += 1
    return a + k == b


cdef int take_code_block(Buf* pre, list blocks) except -1:
    """Appends the finished code block (leading and trailing newlines dropped) unless it is
    blank, and empties the buffer."""
    cdef Py_ssize_t a = 0, b = pre.size
    while a < b and pre.data[a] == 10:
        a += 1
    while b > a and pre.data[b - 1] == 10:
        b -= 1
    value = buf_str(pre, a, b)
    if value and not value.isspace():
        blocks.append(value)
    pre.size = 0
    return 0


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
    cdef str value
    cdef Py_ssize_t a, b
    cdef int kind = PyUnicode_KIND(s)
    cdef void* data = PyUnicode_DATA(s)
    while i < n:
        ch = PyUnicode_READ(kind, data, i)
        if ch != 60 and ch != 38 and ch != 13:  # a run of plain text
            j = i + 1
            while j < n:
                ch = PyUnicode_READ(kind, data, j)
                if ch == 60 or ch == 38 or ch == 13:
                    break
                j += 1
            out.put_run(kind, data, i, j)
            i = j
            continue
        if ch == 38:  # '&'
            i = put_entity(out, s, i, n)
            continue
        if ch == 13:  # CR LF and lone CR are one newline, as an HTML parser reads them
            i += 1
            if i < n and s[i] == 10:
                continue
            out.put(10)
            continue
        # '<': a tag, a comment/declaration, or a literal '<'.
        j = i + 1
        if j < n and ends_with(s, i, min(i + 4, n), "<!--"):
            k = s.find("-->", i + 4)
            i = n if k < 0 else k + 3
            continue
        if j < n and (s[j] == 33 or s[j] == 63):  # '<!…>' or '<?…>': not content
            k = find_gt(kind, data, j, n) if i < no_gt_from else -1
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
        k = find_gt(kind, data, j, n)
        if k < 0:
            no_gt_from = i
            out.put(ch)
            i += 1
            continue
        i = k + 1
        cls = tag_class(s, name_start, name_end)
        if out.in_pre:
            if cls == T_PRE and closing:
                out.in_pre = 0
                take_code_block(&out.pre, code_blocks)
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
                value = attr_value(s, name_end, k, b"href")
                if value is not None and value:
                    links.append(value)
            continue
        if cls == T_IMG:
            if not closing:
                value = attr_value(s, name_end, k, b"src")
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
        take_code_block(&out.pre, code_blocks)
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
