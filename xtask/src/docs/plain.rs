//! Markdown to plain text, for the `description` of a page's front matter (tfplugindocs's
//! `plainmarkdown`): headings, paragraphs and quotes become plain lines, code spans lose their
//! backticks, emphasis its markers, links become `text url` (relative links just `text`), images
//! disappear. It handles the markdown that schema descriptions use, not every CommonMark corner.

/// Converts `markdown` to plain text.
pub fn plain_markdown(markdown: &str) -> String {
    let mut out = String::new();
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let fence = &trimmed[..3];
            new_block(&mut out);
            new_block(&mut out);
            for code_line in lines.by_ref() {
                if code_line.trim_start().starts_with(fence) {
                    break;
                }
                out.push_str(code_line);
                out.push('\n');
            }
            continue;
        }
        if let Some(heading) = heading_text(trimmed) {
            new_block(&mut out);
            out.push_str(&inline(heading));
            continue;
        }
        if is_thematic_break(trimmed) {
            new_block(&mut out);
            continue;
        }
        if let Some(item) = list_item_text(trimmed) {
            // Like tfplugindocs, the items of a list run together in one block.
            new_block(&mut out);
            out.push_str(&inline(item));
            while let Some(next) = lines.peek().map(|next| next.trim_start()) {
                match list_item_text(next) {
                    Some(item) => {
                        out.push_str(&inline(item));
                        lines.next();
                    }
                    None => break,
                }
            }
            continue;
        }
        // A paragraph (or a quote): consecutive non-blank lines, one output line each.
        new_block(&mut out);
        if trimmed.starts_with('|') {
            out.push_str(trimmed);
        } else {
            out.push_str(&inline(trimmed.trim_start_matches('>').trim_start()));
        }
        while let Some(next) = lines.peek().map(|next| next.trim_start()) {
            if next.is_empty()
                || heading_text(next).is_some()
                || list_item_text(next).is_some()
                || next.starts_with("```")
            {
                break;
            }
            out.push('\n');
            if next.starts_with('|') {
                out.push_str(next);
            } else {
                out.push_str(&inline(next.trim_start_matches('>').trim_start()));
            }
            lines.next();
        }
    }
    out
}

fn new_block(out: &mut String) {
    if !out.is_empty() {
        out.push('\n');
    }
}

fn heading_text(line: &str) -> Option<&str> {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
        Some(line[hashes..].trim())
    } else {
        None
    }
}

fn is_thematic_break(line: &str) -> bool {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    compact.len() >= 3
        && (compact.chars().all(|c| c == '-')
            || compact.chars().all(|c| c == '*')
            || compact.chars().all(|c| c == '_'))
}

fn list_item_text(line: &str) -> Option<&str> {
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some(rest.trim());
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let rest = &line[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(rest.trim());
        }
    }
    None
}

/// Inline markup of one line.
fn inline(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut index = 0;
    while index < chars.len() {
        let current = chars[index];
        match current {
            '`' => {
                let ticks = run_length(&chars, index, '`');
                if let Some(end) = find_run(&chars, index + ticks, '`', ticks) {
                    let code: String = chars[index + ticks..end].iter().collect();
                    out.push_str(code.trim());
                    index = end + ticks;
                    continue;
                }
                out.extend(&chars[index..index + ticks]);
                index += ticks;
            }
            '!' if chars.get(index + 1) == Some(&'[') => {
                if let Some((_, _, end)) = link_at(&chars, index + 1) {
                    index = end;
                    continue;
                }
                out.push(current);
                index += 1;
            }
            '[' => {
                if let Some((label, destination, end)) = link_at(&chars, index) {
                    out.push_str(&inline(&label));
                    if !is_relative_link(&destination) {
                        out.push(' ');
                        out.push_str(&destination);
                    }
                    index = end;
                    continue;
                }
                out.push(current);
                index += 1;
            }
            '<' => {
                if let Some(close) = chars[index..].iter().position(|c| *c == '>') {
                    let inner: String = chars[index + 1..index + close].iter().collect();
                    if inner.starts_with("http://") || inner.starts_with("https://") {
                        out.push_str(&inner);
                        index += close + 1;
                        continue;
                    }
                }
                out.push(current);
                index += 1;
            }
            '*' | '_' => {
                let run = run_length(&chars, index, current).min(2);
                let opens = chars
                    .get(index + run)
                    .is_some_and(|next| !next.is_whitespace())
                    && (current == '*' || index == 0 || !chars[index - 1].is_alphanumeric());
                if opens && let Some(end) = find_closing_emphasis(&chars, index + run, current, run)
                {
                    let inner: String = chars[index + run..end].iter().collect();
                    out.push_str(&inline(&inner));
                    index = end + run;
                    continue;
                }
                out.push(current);
                index += 1;
            }
            '\\' if chars
                .get(index + 1)
                .is_some_and(|next| next.is_ascii_punctuation()) =>
            {
                out.push(chars[index + 1]);
                index += 2;
            }
            _ => {
                out.push(current);
                index += 1;
            }
        }
    }
    out
}

fn run_length(chars: &[char], start: usize, marker: char) -> usize {
    chars[start..].iter().take_while(|c| **c == marker).count()
}

/// The start of the next run of exactly `length` `marker`s at or after `from`.
fn find_run(chars: &[char], from: usize, marker: char, length: usize) -> Option<usize> {
    let mut index = from;
    while index < chars.len() {
        if chars[index] == marker {
            let run = run_length(chars, index, marker);
            if run == length {
                return Some(index);
            }
            index += run;
        } else {
            index += 1;
        }
    }
    None
}

fn find_closing_emphasis(
    chars: &[char],
    from: usize,
    marker: char,
    length: usize,
) -> Option<usize> {
    let mut index = from;
    while index + length <= chars.len() {
        let closes = chars[index..index + length].iter().all(|c| *c == marker)
            && index > from
            && !chars[index - 1].is_whitespace()
            && (marker == '*'
                || chars
                    .get(index + length)
                    .is_none_or(|next| !next.is_alphanumeric()));
        if closes {
            return Some(index);
        }
        index += 1;
    }
    None
}

/// `[label](destination)` starting at `open`: the label, the destination and the index after it.
fn link_at(chars: &[char], open: usize) -> Option<(String, String, usize)> {
    let mut depth = 0usize;
    let mut close = None;
    for (offset, c) in chars[open..].iter().enumerate() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + offset);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end = chars[close + 2..].iter().position(|c| *c == ')')? + close + 2;
    let label: String = chars[open + 1..close].iter().collect();
    let destination: String = chars[close + 2..end].iter().collect();
    let destination = destination
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    Some((label, destination, end + 1))
}

fn is_relative_link(destination: &str) -> bool {
    destination.starts_with('#') || (destination.starts_with('/') && !destination.starts_with("//"))
}

#[cfg(test)]
mod tests {
    use super::plain_markdown;

    #[track_caller]
    fn check(markdown: &str, expected: &str) {
        assert_eq!(plain_markdown(markdown), expected);
    }

    #[test]
    fn inline_markup_is_removed() {
        check(
            "Peers `vnet_id` with **Aiven**, see [the runbook](https://example.com/runbook) and [below](#schema).",
            "Peers vnet_id with Aiven, see the runbook https://example.com/runbook and below.",
        );
        check(
            "A *short* and _plain_ snake_case_name.",
            "A short and plain snake_case_name.",
        );
        check(
            "An image ![logo](https://x/logo.png) vanishes.",
            "An image  vanishes.",
        );
    }

    #[test]
    fn blocks_become_lines() {
        check(
            "# Title\n\nFirst line\nsecond line\n\n> quoted",
            "Title\nFirst line\nsecond line\nquoted",
        );
        check("Intro\n\n- one\n- two\n", "Intro\nonetwo");
        check("Text\n\n```hcl\nx = 1\n```\n", "Text\n\nx = 1\n");
    }
}
