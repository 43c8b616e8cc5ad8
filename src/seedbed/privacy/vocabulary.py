"""Word lists for the detectors that have no checksum: person names and postal addresses.

Written for seedbed from common knowledge (frequent given names in the US, UK, western
Europe and India, without accents since lookups drop them; street types as postal services
abbreviate them). Small on purpose: they add
evidence to the shape of a value and the column's name, they do not decide alone.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


GIVEN_NAMES = _words(
    """
    aaron adam adrian aidan alan albert alberto alejandro alex alexander alexandra alfred
    alice alicia alison amanda amber amelia amy ana andrea andreas andrew angela anita ann
    anna anne annette anthony antoine antonio arthur ashley audrey barbara barry ben benjamin
    bernard beth betty beverly bill billy bob bobby brandon brenda brian bruce bruno bryan
    carl carla carlos carol caroline carolyn catherine charles charlotte chloe chris
    christian christina christine christopher claire clara claude claudia colin connor craig
    cristina cynthia daniel daniela danielle david deborah debra denis denise dennis diana
    diane dieter donald donna doris dorothy douglas dylan edward elena elizabeth ella ellen
    emily emma eric erik erin ethan eugene eva evelyn fabian felix fernando florian frances
    francesca francesco francis francisco frank franz frederic gabriel gabriele gary george
    georg gerald gerhard gianni gina giorgio giovanni giulia giuseppe glenn gloria grace
    greg gregory hannah harold harry heather heinz helen helmut henry hans heidi holly howard
    ian isabel isabella isabelle jack jacob jacqueline jake james jamie jan jane janet janice
    jason javier jean jeffrey jennifer jeremy jerry jesse jessica joan joe johann johannes
    john jonathan jordan jorge jose joseph joshua joyce juan judith judy julia julian julie
    jurgen justin karen karin karl kate katherine kathleen kathryn katie keith kelly kenneth
    kevin kim kimberly klaus kyle larry laura lauren laurent lawrence leah lena leo leon
    lewis linda lisa lorenzo louis louise lucas lucia luis luca lukas luke manuel marc marco
    marcus margaret maria marie marilyn mario mark martha martin mary matteo matthew matthias
    maria megan melissa michael michel michelle miguel mike monika nancy natalie nathan
    nicholas nicola nicolas nicole noah norma oliver olivia oscar pablo pamela paolo pascal
    patricia patrick paul paula peter petra philip philippe pierre rachel ralph raymond
    rebecca richard rita robert roberto roger ronald rose roy ruby russell ruth ryan sabine
    sally samantha samuel sandra sara sarah scott sean sebastian sergio sharon shirley
    simon sofia sophie stefan stefano stephanie stephen steven susan tammy teresa terry
    thomas tiffany timothy tobias todd tom tony tyler ursula valerie vanessa victor victoria
    vincent virginia walter wayne werner william wolfgang yvonne zachary
    alessandro alessia angelo antonella beatrice carlo chiara cristian davide elisa emanuele
    enrico fabio federica federico filippo franco gabriella giacomo gianluca giorgia giovanna
    guido ilaria leonardo luigi marcello marta massimo matilde mattia maurizio michele nicolo
    paola pietro raffaele riccardo roberta salvatore silvia simone stefania tommaso valentina
    vittoria adolfo alfonso alvaro amparo angel antonia araceli carmen catalina concepcion
    consuelo cristobal dolores eduardo emilio encarnacion enrique esperanza esteban eugenia
    felipe fernanda gonzalo guadalupe ignacio ines isidro jaime joaquin josefa julio leonor
    lorena lourdes luisa manuela marcos mercedes milagros montserrat nuria pedro pilar rafael
    ramon raul ricardo rocio rosario salvador santiago soledad tomas vicente yolanda anke
    barbel bernd birgit dagmar detlef dirk erika friedrich gerd gunter hannelore heike
    heinrich helga hermann holger horst ingrid jens jorg karsten katrin kerstin lothar
    manfred margarete marianne norbert rainer reinhard renate rolf rudiger silke susanne sven
    thorsten torsten ulrich ulrike uwe volker waltraud wilhelm bram daan fenna femke jeroen
    joost lieke lotte maarten noor pieter roos sanne sem stijn thijs wouter willem ruben lars
    fleur iris isa aarav aditya akash amit anil anjali arjun deepak divya gaurav kavya krishna
    lakshmi manoj meera mohan neha nikhil pooja priya rahul raj rajesh ravi rohan sanjay
    shreya sunil suresh vijay vikram amelie antoinette aurelie benoit brigitte camille cecile
    chantal christophe clement dominique elodie emile francois francoise frederic gilles
    guillaume helene jacques jerome julien lea lucie manon mathieu maxime nathalie oceane
    olivier pascale rene sylvie theo thibault yves
    """
)

FAMILY_NAMES = _words(
    """
    adams allen anderson bailey baker bauer becker bell bennett bernard brown campbell
    carter clark collins cook cooper davies davis dubois edwards evans fischer fisher garcia
    gomez gonzalez green hall harris hernandez hill hoffmann hughes jackson james johnson
    jones king koch lee lewis lopez martin martinez meyer miller mitchell moore morgan morris
    muller murphy nelson parker perez phillips richter roberts robinson rodriguez rossi russo
    sanchez schmidt schmitz schneider schulz scott smith taylor thomas thompson turner walker
    watson weber white williams wilson wood wright young
    sharma patel singh kumar gupta reddy rao iyer nair bianchi romano colombo ricci marino
    greco gallo conti esposito fernandez ruiz diaz moreno alvarez romero navarro torres
    dominguez vazquez ramos gil serrano blanco molina morales ortega delgado castro ortiz rubio
    marin sanz iglesias medina garrido durand leroy moreau simon laurent lefebvre michel
    bertrand roux fournier morel girard andre lefevre mercier dupont lambert bonnet jong
    jansen vries visser bakker smit meijer mulder bos vos peters hendriks dekker dijkstra
    wagner braun kruger hartmann lange krause lehmann schmitt schwarz klein wolf neumann
    schroder zimmermann
    """
)

# Words that make a capitalised phrase an organisation or a place rather than a person.
NOT_PERSON_WORDS = _words(
    """
    agency air airlines airport airways analytics and association avenue bank bay beach
    boulevard bros café cafe center centre city co college company corp corporation county
    dept department east field fld foundation gmbh group heights hospital hotel inc
    industrie industries institute intl international island lake limited llc llp ltd
    management market memorial mount mountain municipal muni national north park partners
    plc port regional restaurant river road school services sa sas south spa station street
    systems technologies the university valley west airbus boeing embraer bombardier
    """
)

TITLES = _words("mr mrs ms miss mx dr prof sir dame herr frau m mme mlle sr sra srta sig dott")
SUFFIXES = _words("jr sr ii iii iv phd md dds dvm esq mba bsc msc ba ma beng ing")
PARTICLES = _words("van von der den de del della di da dos du la le ter ten bin al")

# USPS street suffixes (Publication 28) and the street words of a few European countries.
STREET_WORDS = _words(
    """
    alley allee allée annex apt apartment arcade av ave avenida avenue avda bend blvd
    boulevard branch bridge brook bypass calle camino carrer carrera causeway center chemin
    chowk circle cir close corso court ct cove creek crescent crest crossing ctra cv dr
    drive estate expressway ext extension flat floor ford forge fork fort freeway gardens
    garden gasse glen green grove harbor haven heights highway hill hwy impasse junction
    lane largo ln loop mall manor marg mews mill mission motorway nagar parade park parkway
    pass path paseo piazza pike pkwy pl place plaza plein po pr quai road rd ronda route row
    rue run ruta sq square st station strada straat strasse straße street suite ste terrace
    trail trl travesía tr unit via viale vicolo vía walk way wharf
    """
)
# German and Dutch streets are one word: "Ullmannweg", "Hauptstraße", "Laurapad".
STREET_ENDINGS = (
    "straße", "strasse", "str.", "weg", "gasse", "platz", "allee", "ring", "damm", "ufer",
    "pad", "laan", "straat", "plein", "gracht", "kade", "singel", "dreef", "steeg", "hof",
)  # fmt: skip
