// Builds small SCL documents for tests of one rule at a time.
export interface SynMu {
  ied: string;
  smvID?: string;
  cbName?: string;
  datSet?: string | null;
  /** Name of the DataSet present in LN0 (default PhsMeas1). */
  dataSetName?: string;
  mac?: string | null;
  appId?: string;
  vlanId?: string;
  extraSvcbAttrs?: string;
  /** Extra content inside LN TCTR1 (e.g. DOI with sVC instance values). */
  tctr1Content?: string;
  fcdaLnInst?: string;
}

export function synScl(mus: SynMu[], opts: { root?: string; extraComm?: string } = {}): string {
  const root = opts.root ?? '<SCL xmlns="http://www.iec.ch/61850/2003/SCL" version="2007" revision="B" release="4">';
  const comm = mus
    .filter((m) => m.mac !== null)
    .map(
      (m) => `
      <ConnectedAP iedName="${m.ied}" apName="AP1">
        <SMV ldInst="LD1" cbName="${m.cbName ?? 'MSVCB01'}">
          <Address>
            <P type="MAC-Address">${m.mac ?? '01-0C-CD-04-00-01'}</P>
            <P type="APPID">${m.appId ?? '4000'}</P>
            <P type="VLAN-ID">${m.vlanId ?? '000'}</P>
            <P type="VLAN-PRIORITY">4</P>
          </Address>
        </SMV>
      </ConnectedAP>`,
    )
    .join('');
  const fcdas = ['TCTR', 'TVTR'].flatMap((c) =>
    [1, 2, 3, 4].flatMap((i) => {
      const d = c === 'TCTR' ? 'AmpSv' : 'VolSv';
      const inst = String(i);
      return [
        `<FCDA ldInst="LD1" lnClass="${c}" lnInst="${inst}" doName="${d}" daName="instMag.i" fc="MX"/>`,
        `<FCDA ldInst="LD1" lnClass="${c}" lnInst="${inst}" doName="${d}" daName="q" fc="MX"/>`,
      ];
    }),
  );
  const ieds = mus
    .map((m) => {
      const dsAttr = m.datSet === null ? '' : ` datSet="${m.datSet ?? 'PhsMeas1'}"`;
      const fc = m.fcdaLnInst ? fcdas.map((f, i) => (i === 0 ? f.replace('lnInst="1"', `lnInst="${m.fcdaLnInst}"`) : f)) : fcdas;
      return `
  <IED name="${m.ied}">
    <AccessPoint name="AP1"><Server><Authentication/>
      <LDevice inst="LD1">
        <LN0 lnClass="LLN0" inst="" lnType="LLN0T">
          <DataSet name="${m.dataSetName ?? 'PhsMeas1'}">${fc.join('\n            ')}</DataSet>
          <SampledValueControl name="${m.cbName ?? 'MSVCB01'}" smvID="${m.smvID ?? m.ied + 'SV'}"${dsAttr} confRev="7" smpRate="80" nofASDU="1" ${m.extraSvcbAttrs ?? ''}>
            <SmvOpts sampleSynchronized="true"/>
          </SampledValueControl>
        </LN0>
        <LN lnClass="TCTR" inst="1" lnType="CT">${m.tctr1Content ?? ''}</LN>
        <LN lnClass="TCTR" inst="2" lnType="CT"/><LN lnClass="TCTR" inst="3" lnType="CT"/><LN lnClass="TCTR" inst="4" lnType="CT"/>
        <LN lnClass="TVTR" inst="1" lnType="VT"/><LN lnClass="TVTR" inst="2" lnType="VT"/><LN lnClass="TVTR" inst="3" lnType="VT"/><LN lnClass="TVTR" inst="4" lnType="VT"/>
      </LDevice>
    </Server></AccessPoint>
  </IED>`;
    })
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
${root}
  <Header id="syn"/>
  <Communication>
    <SubNetwork name="PB" type="8-MMS">${comm}${opts.extraComm ?? ''}
    </SubNetwork>
  </Communication>${ieds}
  <DataTypeTemplates>
    <LNodeType id="LLN0T" lnClass="LLN0"/>
    <LNodeType id="CT" lnClass="TCTR"><DO name="AmpSv" type="SAVA"/></LNodeType>
    <LNodeType id="VT" lnClass="TVTR"><DO name="VolSv" type="SAVV"/></LNodeType>
    <DOType id="SAVA" cdc="SAV">
      <DA name="instMag" bType="Struct" type="AV" fc="MX"/><DA name="q" bType="Quality" fc="MX"/>
      <DA name="sVC" bType="Struct" type="SVC" fc="CF"/>
    </DOType>
    <DOType id="SAVV" cdc="SAV">
      <DA name="instMag" bType="Struct" type="AV" fc="MX"/><DA name="q" bType="Quality" fc="MX"/>
    </DOType>
    <DAType id="AV"><BDA name="i" bType="INT32"/></DAType>
    <DAType id="SVC"><BDA name="scaleFactor" bType="FLOAT32"/><BDA name="offset" bType="FLOAT32"/></DAType>
  </DataTypeTemplates>
</SCL>
`;
}
