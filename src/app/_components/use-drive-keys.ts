"use client";

import { useEffect, useRef } from "react";
import type { DriveEntry, Selection } from "./listing";

// The drive's keyboard shortcuts (listed for people in shortcuts.tsx). Keys typed into a field, or
// while a dialog, the viewer or a menu is open, are left alone.

export interface DriveKeyActions {
  items: () => DriveEntry[];
  focusedId: () => string | null;
  selected: () => Selection;
  focus: (id: string | null) => void;
  select: (s: Selection) => void;
  open: (entry: DriveEntry) => void;
  up: () => void;
  rename: (entry: DriveEntry) => void;
  trash: (entries: DriveEntry[]) => void;
  copy: (entries: DriveEntry[]) => void;
  cut: (entries: DriveEntry[]) => void;
  paste: () => void;
  menu: (entry: DriveEntry) => void;
  newFolder: () => void;
  uploadFiles: () => void;
  uploadFolder: () => void;
  search: () => void;
  help: () => void;
}

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

export function useDriveKeys(actions: DriveKeyActions): void {
  const ref = useRef(actions);
  ref.current = actions;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || typing(e.target) || document.querySelector("dialog[open], [role=menu]")) return;
      const a = ref.current;
      const items = a.items();
      const ctrl = e.ctrlKey || e.metaKey;
      const at = items.findIndex((x) => x.id === a.focusedId());
      const current = at >= 0 ? items[at] : undefined;
      const chosen = (): DriveEntry[] => {
        const sel = [...a.selected().values()];
        return sel.length > 0 ? sel : current ? [current] : [];
      };
      const handled = () => e.preventDefault();

      if (e.key === "ArrowDown" || e.key === "ArrowUp" || e.key === "Home" || e.key === "End") {
        if (e.key === "ArrowUp" && e.altKey) {
          handled();
          a.up();
          return;
        }
        if (items.length === 0) return;
        handled();
        let to: number;
        if (e.key === "Home") to = 0;
        else if (e.key === "End") to = items.length - 1;
        else if (at < 0) to = e.key === "ArrowDown" ? 0 : items.length - 1;
        else to = Math.max(0, Math.min(items.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)));
        const target = items[to]!;
        a.focus(target.id);
        if (e.shiftKey) {
          const next = new Map(a.selected());
          if (current && next.size === 0) next.set(current.id, current);
          next.set(target.id, target);
          a.select(next);
        }
        return;
      }
      if (ctrl && e.key.toLowerCase() === "a") {
        handled();
        a.select(new Map(items.map((x) => [x.id, x])));
        return;
      }
      if (ctrl && e.key.toLowerCase() === "c") {
        const entries = chosen();
        if (entries.length === 0) return;
        handled();
        a.copy(entries);
        return;
      }
      if (ctrl && e.key.toLowerCase() === "x") {
        const entries = chosen();
        if (entries.length === 0) return;
        handled();
        a.cut(entries);
        return;
      }
      if (ctrl && e.key.toLowerCase() === "v") {
        handled();
        a.paste();
        return;
      }
      if (ctrl || e.altKey) return;
      switch (e.key) {
        case "Enter":
          if (current) {
            handled();
            a.open(current);
          }
          return;
        case " ":
          if (current) {
            handled();
            const next = new Map(a.selected());
            if (!next.delete(current.id)) next.set(current.id, current);
            a.select(next);
          }
          return;
        case "Escape":
          if (a.selected().size > 0) {
            handled();
            a.select(new Map());
          }
          return;
        case "Delete":
        case "Backspace": {
          const entries = chosen();
          if (entries.length > 0) {
            handled();
            a.trash(entries);
          }
          return;
        }
        case "F2":
          if (current) {
            handled();
            a.rename(current);
          }
          return;
        case "F10":
        case "ContextMenu":
          if (current && (e.key === "ContextMenu" || e.shiftKey)) {
            handled();
            a.menu(current);
          }
          return;
        case "/":
          handled();
          a.search();
          return;
        case "?":
          handled();
          a.help();
          return;
      }
      if (e.key.toLowerCase() === "n" && !e.shiftKey) {
        handled();
        a.newFolder();
      } else if (e.key.toLowerCase() === "u") {
        handled();
        if (e.shiftKey) a.uploadFolder();
        else a.uploadFiles();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
