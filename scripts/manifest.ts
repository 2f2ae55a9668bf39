// Generates package.json's `contributes` from the code that owns each part (settings defaults,
// command ids), so they cannot drift: `npm run sync-manifest` writes it, a test checks it.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SETTINGS_SCHEMA } from '../src/shared/settings';
import { COMMANDS } from '../src/shared/protocol';

const TITLES: Record<string, string> = {
  [COMMANDS.traceBetween]: 'Trace path between functions…',
  [COMMANDS.showGraph]: 'Show call graph around this function',
  [COMMANDS.showFindingTrace]: 'Show finding trace',
  [COMMANDS.exportSarif]: 'Export findings as SARIF',
  [COMMANDS.restartServer]: 'Restart server',
};

export function expectedManifestParts(): Record<string, unknown> {
  return {
    activationEvents: ['onLanguage:c', 'onLanguage:lockpath', 'workspaceContains:**/*.c', 'workspaceContains:**/.lockpath', 'onWebviewPanel:lockpath.graph'],
    main: './dist/client/extension.js',
    capabilities: { untrustedWorkspaces: { supported: true }, virtualWorkspaces: false },
    contributes: {
      languages: [{ id: 'lockpath', aliases: ['lockpath model', 'lockpath'], filenames: ['.lockpath'], extensions: ['.lockpath'], configuration: './syntaxes/lockpath.language-configuration.json' }],
      grammars: [{ language: 'lockpath', scopeName: 'source.lockpath', path: './syntaxes/lockpath.tmLanguage.json' }],
      commands: Object.values(COMMANDS).map((command) => ({ command, title: TITLES[command], category: 'lockpath' })),
      menus: {
        'editor/context': [
          { command: COMMANDS.showGraph, when: 'editorLangId == c', group: 'navigation@90' },
          { command: COMMANDS.traceBetween, when: 'editorLangId == c', group: 'navigation@91' },
        ],
      },
      configuration: { title: 'lockpath', properties: SETTINGS_SCHEMA },
    },
  };
}

if (require.main === module) {
  const file = path.join(__dirname, '..', 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  Object.assign(pkg, expectedManifestParts());
  writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
  console.log('package.json contributions updated');
}
