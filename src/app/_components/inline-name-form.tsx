"use client";

import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { errorMessage, nameProblem } from "./errors";

// A one-line name form (new folder, rename in place): focused on open with the name selected up
// to `selectEnd`, Enter saves, Escape or Cancel closes. The name is checked here as the server
// would, then `save` runs; what it throws is shown under the field.

export function InlineNameForm({
  className,
  testId,
  errorTestId,
  label,
  placeholder,
  icon,
  initialName = "",
  selectEnd = initialName.length,
  submitLabel,
  busy,
  errorOverrides,
  save,
  onDone,
}: {
  className: string;
  testId: string;
  errorTestId: string;
  label: string;
  placeholder?: string;
  icon?: ReactNode;
  initialName?: string;
  selectEnd?: number;
  submitLabel: ReactNode;
  busy: boolean;
  /** Messages for error codes beyond the name clash, which this form words itself. */
  errorOverrides?: Partial<Record<string, string>>;
  save: (name: string) => Promise<void>;
  onDone: () => void;
}) {
  const [name, setName] = useState(initialName);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const el = input.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(0, selectEnd);
  }, [initialName, selectEnd]);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const trimmed = name.trim();
    const problem = nameProblem(trimmed);
    if (problem) return setError(problem);
    setError(null);
    try {
      await save(trimmed);
      onDone();
    } catch (err) {
      setError(errorMessage(err, { ...errorOverrides, CONFLICT: `“${trimmed}” already exists in this folder.` }));
    }
  }

  return (
    <form className={className} onSubmit={onSubmit} data-testid={testId}>
      {icon}
      <input
        ref={input}
        value={name}
        onChange={(e) => setName(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && onDone()}
        placeholder={placeholder}
        aria-label={label}
        aria-invalid={!!error}
        maxLength={255}
      />
      <button type="submit" className="button primary small" disabled={busy}>
        {submitLabel}
      </button>
      <button type="button" className="button secondary small" onClick={onDone}>
        Cancel
      </button>
      {error && (
        <span className="field-error" role="alert" data-testid={errorTestId}>
          {error}
        </span>
      )}
    </form>
  );
}
