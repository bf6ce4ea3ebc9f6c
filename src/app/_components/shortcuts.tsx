"use client";

import { Dialog } from "./dialog";

// The drive's keyboard shortcuts, listed once: the help overlay (press ?) shows this table and
// use-drive-keys.ts implements it.

export const SHORTCUTS: Array<{ keys: string[]; what: string }> = [
  { keys: ["↑", "↓"], what: "Move between files" },
  { keys: ["Shift", "↑ / ↓"], what: "Extend the selection" },
  { keys: ["Space"], what: "Select or unselect the file" },
  { keys: ["Ctrl", "A"], what: "Select everything" },
  { keys: ["Enter"], what: "Open the folder, or preview the file" },
  { keys: ["Alt", "↑"], what: "Go up to the parent folder" },
  { keys: ["F2"], what: "Rename" },
  { keys: ["Delete"], what: "Move to the trash" },
  { keys: ["Ctrl", "C"], what: "Copy" },
  { keys: ["Ctrl", "X"], what: "Cut" },
  { keys: ["Ctrl", "V"], what: "Paste into this folder" },
  { keys: ["Shift", "F10"], what: "Open the menu of the file" },
  { keys: ["N"], what: "New folder" },
  { keys: ["U"], what: "Upload files" },
  { keys: ["Shift", "U"], what: "Upload a folder" },
  { keys: ["/"], what: "Search" },
  { keys: ["Esc"], what: "Clear the selection, close" },
  { keys: ["?"], what: "This help" },
];

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose} testId="shortcuts-help">
      <p className="dialog-message muted-inline">On a Mac, ⌘ works wherever Ctrl is written.</p>
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.what}>
              <td>
                {s.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && " + "}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </td>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="dialog-actions">
        <button type="button" className="button primary" onClick={onClose}>
          Got it
        </button>
      </div>
    </Dialog>
  );
}
